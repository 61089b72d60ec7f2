using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using WonderQ.Shared.Contracts;
using WonderQ.UserApp.Listen;
using WonderQ.UserApp.Tests.Infrastructure;

namespace WonderQ.UserApp.Tests.Listen;

/// <summary>What the app waits for when it stops.</summary>
public sealed class ShutdownTests : UserAppTestBase
{
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);

    protected override TimeProvider? Clock => _clock;

    [Fact]
    public async Task Stopping_the_app_waits_for_a_replaced_loop_that_is_still_acknowledging()
    {
        // Arrange: a loop stopped mid-acknowledgement, in its grace, and a new loop started on its queue meanwhile.
        await DispatchAsync(new { queue_name = "replaced", body = "acknowledged late" });
        App.HoldAcknowledgements();
        using var first = await Http.GetAsync("/listen?queue_name=replaced&wait_time=1");
        await Eventually.ValueAsync(() => App.ProcessedBodies.Count, count => count == 1, "1 message(s) processed");
        var registry = App.Services.GetRequiredService<ListenerRegistry>();
        var replaced = registry.Find(QueueRef.ByName("replaced"))!;
        var stopRequest = Http.DeleteAsync("/listen?queue_name=replaced");
        await Eventually.TrueAsync(() => replaced.IsStopping, "the replaced loop is stopping");
        using var second = await Http.GetAsync("/listen?queue_name=replaced&wait_time=1");
        second.StatusCode.Should().Be(HttpStatusCode.Accepted);

        // Act: the host stops its services, as at shutdown.
        var shutdown = registry.StopAsync(CancellationToken.None);

        // Assert: shutdown waits while the replaced loop may still acknowledge, and ends when its grace does.
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        var waitedForTheGrace = !shutdown.IsCompleted;
        // In steps: the stop arms the grace on the fake clock from a callback that may run a moment after the stop.
        for (var step = 0; step < 100 && !shutdown.IsCompleted; step++)
        {
            _clock.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }

        waitedForTheGrace.Should().BeTrue("the replaced loop is still acknowledging within its grace");
        shutdown.IsCompleted.Should().BeTrue("the replaced loop ends when its grace runs out");
        replaced.Completion.IsCompleted.Should().BeTrue();
        using var stopped = await stopRequest;
        stopped.StatusCode.Should().Be(HttpStatusCode.OK);
    }
}
