using System.Net;
using WonderQ.UserApp.Tests.Infrastructure;

namespace WonderQ.UserApp.Tests.Listen;

/// <summary>A loop stopped while it acknowledges a message it has printed, with a short grace to finish.</summary>
public sealed class StopGraceTests : UserAppTestBase
{
    protected override IDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["UserApp:ListenerStopGrace"] = "00:00:00.200",
    };

    [Fact]
    public async Task A_message_printed_but_not_deleted_within_the_grace_is_logged_as_coming_back()
    {
        // Arrange: the acknowledgement hangs past the grace.
        await DispatchAsync(new { queue_name = "grace", body = "printed, never acknowledged" });
        App.BrokerDelay = request =>
            request.Method == HttpMethod.Delete && request.RequestUri!.AbsolutePath.StartsWith("/messages/", StringComparison.Ordinal)
                ? TimeSpan.FromSeconds(30)
                : null;
        using var started = await Http.GetAsync("/listen?queue_name=grace&wait_time=1");
        (await Eventually.TrueAsync(() => App.ProcessedBodies.Count == 1)).Should().BeTrue();

        // Act
        using var stopped = await Http.DeleteAsync("/listen?queue_name=grace");

        // Assert: the operator is told the message will be delivered again, and it is still in the queue.
        stopped.StatusCode.Should().Be(HttpStatusCode.OK);
        (await Eventually.TrueAsync(() => App.Logs.Warnings.Any(w => w.Contains("not deleted", StringComparison.Ordinal))))
            .Should().BeTrue($"a warning should say so; got: {string.Join(" | ", App.Logs.Warnings)}");
        (await QueueSizeAsync("grace")).Should().Be(1);
    }
}
