using System.Net;
using FluentAssertions;
using WonderQ.Reliability.Tests.Support;
using Xunit.Abstractions;

namespace WonderQ.Reliability.Tests.Startup;

/// <summary>
/// SIGHUP, which a closed terminal or a dropped SSH session sends to what run.sh started: left to the runtime, it ended
/// each app at once, with waiting consumers cut off and the user app's listeners not deleting what they had logged.
/// </summary>
public sealed class HangupTests(ITestOutputHelper output)
{
    [LinuxTheory]
    [InlineData("Broker")]
    [InlineData("DevTool")]
    [InlineData("UserApp")]
    public async Task App_stops_on_a_hangup_as_on_ctrl_c(string app)
    {
        using var database = new TempDatabase();
        string[] args = ["--Logging:LogLevel:Microsoft.Hosting.Lifetime=Information", .. app == "Broker" ? [$"--Storage:Sqlite:Path={database.Path}"] : Array.Empty<string>()];
        using var process = AppProcess.Start(app, FreePort.Next(), null, args);
        (await Eventually.WithinAsync(() => process.StandardOutput.Contains("Application started", StringComparison.Ordinal), TimeSpan.FromSeconds(30)))
            .Should().BeTrue($"{app} starts:\n{process.StandardOutput}\n{process.StandardError}");

        process.Signal("HUP");

        (await process.WaitForExitAsync(TimeSpan.FromSeconds(30))).Should().BeTrue($"{app} stops");
        output.WriteLine(process.StandardOutput);
        process.ExitCode.Should().Be(0, "a hangup is a stop as asked, not a signal that killed it");
        process.StandardOutput.Should().Contain("Application is shutting down", "the host's graceful stop ran");
    }

    [LinuxFact]
    public async Task A_consumer_waiting_on_the_broker_is_answered_when_the_broker_hangs_up()
    {
        using var database = new TempDatabase();
        using var broker = AppProcess.StartBroker(database.Path, FreePort.Next());
        await broker.WaitReadyAsync();
        using var client = broker.CreateClient();
        var queue = Json.UniqueQueueName("hangup");
        await client.CreateQueueAsync(queue);

        // On the connection the create left open. The pause is for the request to reach the broker before it stops taking
        // requests; once there, it is answered [] whether it parked or found the broker already stopping.
        var waiting = client.GetAsync($"/messages/consume?queue_name={queue}&wait_time=20");
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        broker.Signal("HUP");

        using var answered = await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        answered.StatusCode.Should().Be(HttpStatusCode.OK);
        (await answered.Content.ReadAsStringAsync()).Should().Be("[]");
        (await broker.WaitForExitAsync(TimeSpan.FromSeconds(30))).Should().BeTrue();
    }
}
