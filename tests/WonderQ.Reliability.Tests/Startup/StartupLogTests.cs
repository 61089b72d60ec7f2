using FluentAssertions;
using Xunit.Abstractions;

namespace WonderQ.Reliability.Tests.Startup;

/// <summary>
/// Each app says at start where what it works with is: the broker its database file, which <c>dotnet run</c> and
/// <c>run.sh</c> put in different folders; the DevTool and the UserApp the broker they call.
/// </summary>
public sealed class StartupLogTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Broker_names_its_database_by_its_absolute_path_at_every_start()
    {
        using var database = new TempDatabase();
        string[] args = ["--contentRoot", database.Directory, "--Storage:Sqlite:Path=q.db", "--Logging:LogLevel:WonderQ=Information"];

        foreach (var start in new[] { "new file", "existing file" })
        {
            using var broker = AppProcess.Start("Broker", FreePort.Next(), database.Directory, args);
            await broker.WaitReadyAsync();

            await SaysAsync(broker, $"Using the database {database.Path}", start);
        }
    }

    [Theory]
    [InlineData("DevTool")]
    [InlineData("UserApp")]
    public async Task App_names_the_broker_it_calls_at_start(string app)
    {
        var brokerUrl = FreePort.Url(FreePort.Next());
        using var process = AppProcess.Start(app, FreePort.Next(), null, $"--Broker:Url={brokerUrl}", "--Logging:LogLevel:WonderQ=Information");

        await SaysAsync(process, $"Using the broker at {brokerUrl}", "at start");
    }

    /// <summary>The console logger writes from a queue of its own, so a line logged at start is given time to arrive.</summary>
    private async Task SaysAsync(AppProcess process, string line, string when)
    {
        var said = await Eventually.WithinAsync(() => process.StandardOutput.Contains(line, StringComparison.Ordinal), TimeSpan.FromSeconds(20));
        output.WriteLine($"{process.Name}, {when}:\n{process.StandardOutput}");
        said.Should().BeTrue($"{process.Name} says \"{line}\" ({when})");
    }
}
