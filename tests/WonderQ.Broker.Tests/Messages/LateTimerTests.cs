using Microsoft.Extensions.Time.Testing;

namespace WonderQ.Broker.Tests.Messages;

/// <summary>
/// A real timer's callback can already be running when the timer is disposed. The long poll's reservation-expiry
/// timer must survive that: a late callback for a queue whose waiters have all left must not unhook the waiters
/// that came after them (they would then sleep through publishes, and leaving would answer 500).
/// </summary>
public sealed class LateTimerTests : FreshBroker
{
    private readonly LateFiringClock _clock;

    public LateTimerTests()
        : this(new LateFiringClock())
    {
    }

    private LateTimerTests(LateFiringClock clock)
        : base(new BrokerApplication(clock: clock)) => _clock = clock;

    [Fact]
    public async Task A_late_expiry_callback_does_not_stop_later_waiters_from_being_woken()
    {
        var queue = await Client.CreateQueueAsync();
        await Client.SendAsync(queue.Id, "reserved, so the waiters arm an expiry timer");
        (await Client.ConsumeAsync(queue.Id, visibilityTimeout: 30)).Should().ContainSingle();
        var first = Client.ConsumeAsync(queue.Id, waitTime: 20);
        await Eventually.TrueAsync(() => App.WaitingConsumerCount == 1 && _clock.ExpiryArmed, "the first consumer waits with an expiry timer armed");
        await Client.SendAsync(queue.Id, "for the first");
        (await first.WaitAsync(TimeSpan.FromSeconds(10))).Should().ContainSingle();

        var second = Client.ConsumeAsync(queue.Id, waitTime: 20);
        await Eventually.TrueAsync(() => App.WaitingConsumerCount == 1, "the second consumer waits");
        _clock.FireDisposedTimers().Should().BePositive("the first consumer's queue list and its timer were dropped");
        var id = await Client.SendAsync(queue.Id, "for the second");

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
