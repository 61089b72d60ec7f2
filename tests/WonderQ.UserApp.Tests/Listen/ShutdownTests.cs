using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using WonderQ.Shared.Contracts;
using WonderQ.UserApp.Listen;
using WonderQ.UserApp.Tests.Infrastructure;

namespace WonderQ.UserApp.Tests.Listen;

/// <summary>What the app waits for when it stops.</summary>
public sealed class ShutdownTests : UserAppTestBase
{
    private static readonly TimeSpan _grace = TimeSpan.FromSeconds(5);

    private readonly GraceWatchingClock _clock = new(_grace);

    protected override IDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["UserApp:ListenerStopGrace"] = _grace.ToString(),
    };

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
        await _clock.GraceArmed.WaitAsync(TimeSpan.FromSeconds(30));
        using var second = await Http.GetAsync("/listen?queue_name=replaced&wait_time=1");
        second.StatusCode.Should().Be(HttpStatusCode.Accepted);
        var successor = registry.Find(QueueRef.ByName("replaced"))!;
        successor.Should().NotBeSameAs(replaced);

        // Act: the host stops its services, as at shutdown (from no synchronization context, as the host does).
        var shutdown = Task.Run(() => registry.StopAsync(CancellationToken.None));
        // Read at the very moment the shutdown ends, whatever runs after it.
        var replacedEndedFirst = shutdown.ContinueWith(_ => replaced.Completion.IsCompleted, TaskContinuationOptions.ExecuteSynchronously);
        await successor.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        // Every other loop has ended and the clock stands still: only the replaced loop's grace (or its acknowledgement,
        // held for half a minute) can end the shutdown now.
        var waitedForTheGrace = !shutdown.IsCompleted;
        _clock.Advance(_grace);
        await shutdown.WaitAsync(TimeSpan.FromSeconds(30));

        // Assert: shutdown waited while the replaced loop could still acknowledge, ended when its grace ran out, and
        // not before the loop did.
        waitedForTheGrace.Should().BeTrue("the replaced loop is still acknowledging within its grace");
        (await replacedEndedFirst).Should().BeTrue("shutdown waits for the replaced loop to end");
        using var stopped = await stopRequest;
        stopped.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_listen_that_comes_as_the_app_stops_is_refused_rather_than_promised_a_loop_that_ends_at_once()
    {
        await DispatchAsync(new { queue_name = "too-late", body = "not listened to" });
        await App.Services.GetRequiredService<ListenerRegistry>().StopAsync(CancellationToken.None);

        using var response = await Http.GetAsync("/listen?queue_name=too-late");

        response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString().Should().Contain("starts no listener loop");
        App.Services.GetRequiredService<ListenerRegistry>().List().Should().BeEmpty();
    }

    /// <summary>
    /// A fake clock that says when a timer is set to the stop's grace: a stopping loop's acknowledgements are cancelled
    /// by a timer the stop sets from a callback, which may run a moment after the stop.
    /// </summary>
    private sealed class GraceWatchingClock(TimeSpan grace) : TimerWatchingClock
    {
        private readonly TaskCompletionSource _armed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task GraceArmed => _armed.Task;

        protected override void Set(TimeSpan dueTime)
        {
            if (dueTime == grace)
            {
                _armed.TrySetResult();
            }
        }
    }
}
