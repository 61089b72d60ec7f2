using FluentAssertions;
using Xunit.Abstractions;

namespace WonderQ.Reliability.Tests.Startup;

/// <summary>
/// A broker dll started from another folder reads no appsettings.json and runs on the framework's bare defaults;
/// the operator is told so at start instead of being left to wonder why it listens on port 5000.
/// </summary>
public sealed class MissingSettingsTests(ITestOutputHelper output)
{
    private const string Warning = "No appsettings.json in the content root";

    [Fact]
    public async Task Broker_started_outside_its_folder_warns_that_it_runs_without_its_settings()
    {
        using var database = new TempDatabase();

        var said = await OutputOfBrokerStartedInAsync(database.Directory, database, TimeSpan.FromSeconds(10));

        said.Should().Contain(Warning).And.Contain(database.Directory, "the warning names the folder it looked in");
    }

    [Fact]
    public async Task Broker_started_in_its_folder_does_not_warn()
    {
        using var database = new TempDatabase();

        var said = await OutputOfBrokerStartedInAsync(RepoPaths.BrokerDirectory, database, TimeSpan.FromSeconds(2));

        said.Should().NotContain(Warning);
    }

    /// <summary>
    /// What a broker started in <paramref name="folder"/> wrote once healthy. The console logger writes from a queue of
    /// its own, so a line logged at start is given up to <paramref name="wait"/> to arrive.
    /// </summary>
    private async Task<string> OutputOfBrokerStartedInAsync(string folder, TempDatabase database, TimeSpan wait)
    {
        using var broker = AppProcess.StartBroker(database.Path, FreePort.Next(), folder);
        await broker.WaitReadyAsync();
        await Eventually.WithinAsync(() => broker.StandardOutput.Contains(Warning, StringComparison.Ordinal), wait);

        output.WriteLine(broker.StandardOutput);
        return broker.StandardOutput;
    }
}
