using System.Diagnostics;
using FluentAssertions;
using WonderQ.Reliability.Tests.Support;
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
        // Arrange
        using var database = new TempDatabase();

        // Act
        using var broker = BrokerProcess.StartIn(database.Directory, database.Path, FreePort.Next());
        using var client = new HttpClient { BaseAddress = broker.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        await broker.WaitHealthyAsync(client, TimeSpan.FromSeconds(60));
        var said = await OutputWithinAsync(broker, Warning, TimeSpan.FromSeconds(10));

        // Assert
        output.WriteLine(broker.StandardOutput);
        said.Should().Contain(Warning).And.Contain(database.Directory, "the warning names the folder it looked in");
    }

    [Fact]
    public async Task Broker_started_in_its_folder_does_not_warn()
    {
        // Arrange
        using var database = new TempDatabase();

        // Act
        using var broker = BrokerProcess.Start(database.Path, FreePort.Next());
        using var client = new HttpClient { BaseAddress = broker.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        await broker.WaitHealthyAsync(client, TimeSpan.FromSeconds(60));
        var said = await OutputWithinAsync(broker, Warning, TimeSpan.FromSeconds(2));

        // Assert
        output.WriteLine(broker.StandardOutput);
        said.Should().NotContain(Warning);
    }

    /// <summary>The console logger writes from a queue of its own: give a line logged at start a moment to arrive.</summary>
    private static async Task<string> OutputWithinAsync(BrokerProcess broker, string expected, TimeSpan deadline)
    {
        var stopwatch = Stopwatch.StartNew();
        while (!broker.StandardOutput.Contains(expected, StringComparison.Ordinal) && stopwatch.Elapsed < deadline)
        {
            await Task.Delay(50);
        }

        return broker.StandardOutput;
    }
}
