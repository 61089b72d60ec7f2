using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using WonderQ.Broker.Messages;
using WonderQ.Broker.Storage;
using WonderQ.Shared.Contracts;
using WonderQ.Shared.Validation;

namespace WonderQ.Broker.Tests.Messages;

/// <summary>
/// A real timer can fire a millisecond or two before its due time: it counts whole milliseconds. The long poll's
/// reservation-expiry timer must not act early, when the waiter it wakes finds nothing yet and the look-up for the
/// next expiry, which starts after this one, passes over the message: every waiter would sleep through it.
/// </summary>
public sealed class EarlyTimerTests : FreshBroker
{
    private static readonly TimeSpan _wait = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan _visibility = TimeSpan.FromSeconds(30);
    private readonly EarlyFiringClock _clock;

    public EarlyTimerTests()
        : this(new EarlyFiringClock())
    {
    }

    private EarlyTimerTests(EarlyFiringClock clock)
        : base(new BrokerApplication(clock: clock)) => _clock = clock;

    [Fact]
    public async Task A_reservation_running_out_reaches_a_waiting_consumer_when_the_timer_fires_early()
    {
        var queue = await Client.CreateQueueAsync();
        var id = await Client.SendAsync(queue.Id, "reserved for 10 s, then back for the waiters");
        (await Client.ConsumeAsync(queue.Id, visibilityTimeout: 10)).Should().ContainSingle();

        // The broker's own store and long poll, but with look-ups for the next expiry that wait for the test, so
        // that a waiter woken early is parked again before the look-up that follows its wake-up returns.
        var store = App.Services.GetRequiredService<IMessageStore>();
        var lookUps = new HeldExpiryLookUps(store);
        using var waiters = new WaitingConsumers(
            lookUps, App.Services.GetRequiredService<StoreClock>(), App.Services.GetRequiredService<IHostApplicationLifetime>(), NullLogger<WaitingConsumers>.Instance);
        var longPoll = new LongPoll(store, waiters, App.Services.GetRequiredService<StoreClock>(), App.Services.GetRequiredService<IOptions<LimitsOptions>>());
        var first = longPoll.ConsumeAsync(QueueRef.ById(queue.Id), 1, _wait, _visibility, CancellationToken.None);
        var second = longPoll.ConsumeAsync(QueueRef.ById(queue.Id), 1, _wait, _visibility, CancellationToken.None);
        await Eventually.TrueAsync(() => waiters.AsleepOn(queue.Id) == 2 && _clock.ExpiryArmed, "both consumers wait, the expiry timer armed");

        lookUps.Hold();
        Clock.Advance(TimeSpan.FromSeconds(10) - EarlyFiringClock.Early);
        await Eventually.TrueAsync(() => waiters.AsleepOn(queue.Id) == 2, "both consumers wait again");
        lookUps.Release();
        Clock.Advance(EarlyFiringClock.Early);
        var answered = await Task.WhenAny(first, second).WaitAsync(TimeSpan.FromSeconds(10));

        (await answered).Should().ContainSingle().Which.Should().Match<MessageDto>(m => m.Id == id && m.ReceiveCount == 2);
    }

    /// <summary>A fake clock whose timers, once armed by <c>Change</c>, fire a millisecond early, as real ones may.</summary>
    private sealed class EarlyFiringClock() : FakeTimeProvider(BrokerApplication.StartTime)
    {
        public static readonly TimeSpan Early = TimeSpan.FromMilliseconds(1);

        private volatile bool _expiryArmed;

        /// <summary>Whether a timer was armed by <c>Change</c> (the reservation-expiry timer is; a waiter's own deadline is not).</summary>
        public bool ExpiryArmed => _expiryArmed;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            new Timer(this, base.CreateTimer(callback, state, dueTime, period));

        private sealed class Timer(EarlyFiringClock clock, ITimer inner) : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period)
            {
                clock._expiryArmed |= dueTime != Timeout.InfiniteTimeSpan;
                return inner.Change(dueTime > Early ? dueTime - Early : dueTime, period);
            }

            public void Dispose() => inner.Dispose();

            public ValueTask DisposeAsync() => inner.DisposeAsync();
        }
    }

    /// <summary>The broker's store, whose look-ups for the next expiry wait while held.</summary>
    private sealed class HeldExpiryLookUps(IMessageStore inner) : DelegatingStore(inner)
    {
        private volatile TaskCompletionSource _released = Released();

        public void Hold() => _released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _released.TrySetResult();

        public override async Task<DateTimeOffset?> NextExpiryAsync(long queueId, DateTimeOffset after, CancellationToken cancellationToken)
        {
            await _released.Task;
            return await base.NextExpiryAsync(queueId, after, cancellationToken);
        }

        private static TaskCompletionSource Released()
        {
            var released = new TaskCompletionSource();
            released.SetResult();
            return released;
        }
    }
}
