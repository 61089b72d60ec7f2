using Microsoft.Extensions.Time.Testing;

namespace WonderQ.Broker.Tests.Messages;

/// <summary>
/// A real timer's callback can already be running when the timer is disposed. The long poll's reservation-expiry
/// timer must survive that: a late callback for a queue whose waiters have all left must not unhook the waiters
/// that came after them (they would then sleep through publishes, and leaving would answer 500).
/// </summary>
public sealed class LateTimerTests : IAsyncLifetime
{
    private readonly LateFiringClock _clock = new();
    private readonly BrokerApplication _app;
    private HttpClient _client = null!;

    public LateTimerTests() => _app = new BrokerApplication(clock: _clock);

    public Task InitializeAsync()
    {
        _client = _app.CreateClient();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.DisposeAsync();
    }

    [Fact]
    public async Task A_late_expiry_callback_does_not_stop_later_waiters_from_being_woken()
    {
        var queue = await _client.CreateQueueAsync();
        await _client.SendAsync(queue.Id, "reserved, so the waiters arm an expiry timer");
        (await _client.ConsumeAsync(queue.Id, visibilityTimeout: 30)).Should().ContainSingle();
        var first = _client.ConsumeAsync(queue.Id, waitTime: 20);
        await Wire.EventuallyAsync(() => _app.WaitingConsumerCount == 1 && _clock.ExpiryArmed, "the first consumer waits with an expiry timer armed");
        await _client.SendAsync(queue.Id, "for the first");
        (await first.WaitAsync(TimeSpan.FromSeconds(10))).Should().ContainSingle();

        var second = _client.ConsumeAsync(queue.Id, waitTime: 20);
        await Wire.EventuallyAsync(() => _app.WaitingConsumerCount == 1, "the second consumer waits");
        _clock.FireDisposedTimers().Should().BePositive("the first consumer's queue list and its timer were dropped");
        var id = await _client.SendAsync(queue.Id, "for the second");

        (await second.WaitAsync(TimeSpan.FromSeconds(10))).Should().ContainSingle().Which.Id.Should().Be(id);
    }

    /// <summary>A fake clock whose disposed timers can be made to run their callback once more, late.</summary>
    private sealed class LateFiringClock() : FakeTimeProvider(BrokerApplication.StartTime)
    {
        private readonly List<Action> _disposed = [];
        private volatile bool _expiryArmed;

        /// <summary>Whether a timer was armed by <c>Change</c> (the reservation-expiry timer is; a waiter's own deadline is not).</summary>
        public bool ExpiryArmed => _expiryArmed;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            new Timer(this, base.CreateTimer(callback, state, dueTime, period), () => callback(state));

        /// <summary>Runs the callback of every timer disposed so far, as if each had been mid-flight; returns how many.</summary>
        public int FireDisposedTimers()
        {
            Action[] late;
            lock (_disposed)
            {
                late = [.. _disposed];
                _disposed.Clear();
            }

            foreach (var callback in late)
            {
                callback();
            }

            return late.Length;
        }

        private sealed class Timer(LateFiringClock clock, ITimer inner, Action callback) : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period)
            {
                clock._expiryArmed |= dueTime != Timeout.InfiniteTimeSpan;
                return inner.Change(dueTime, period);
            }

            public void Dispose()
            {
                lock (clock._disposed)
                {
                    clock._disposed.Add(callback);
                }

                inner.Dispose();
            }

            public ValueTask DisposeAsync()
            {
                Dispose();
                return ValueTask.CompletedTask;
            }
        }
    }
}
