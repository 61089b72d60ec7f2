using Microsoft.Extensions.Time.Testing;

namespace WonderQ.Broker.Tests.Messages;

/// <summary>
/// A long poll ends when its wait_time has passed on the broker's clock, to the millisecond: a consumer that asked to
/// wait 5 s is neither answered [] a moment early nor held past it. FreshBroker.AdvanceUntilAnsweredAsync nudges the
/// clock a second at a time and cannot tell the two apart; here the clock says when the consumer has armed its
/// deadline, so that time moves only once the deadline counts.
/// </summary>
public sealed class WaitDeadlineTests : FreshBroker
{
    private readonly DeadlineClock _clock;

    public WaitDeadlineTests()
        : this(new DeadlineClock())
    {
    }

    private WaitDeadlineTests(DeadlineClock clock)
        : base(new BrokerApplication(clock: clock)) => _clock = clock;

    [Fact]
    public async Task A_long_poll_on_an_empty_queue_still_waits_1_ms_before_its_wait_time_and_answers_empty_right_at_it()
    {
        var queue = await Client.CreateQueueAsync();
        var consume = Client.ConsumeAsync(queue.Id, waitTime: 5);
        await Eventually.TrueAsync(() => _clock.DeadlinesArmed == 1, "the consumer has armed its deadline");

        Clock.Advance(TimeSpan.FromSeconds(5) - TimeSpan.FromMilliseconds(1));
        var justBefore = await Task.WhenAny(consume, Task.Delay(TimeSpan.FromMilliseconds(200)));
        var asleepJustBefore = Waiters.AsleepOn(queue.Id);
        Clock.Advance(TimeSpan.FromMilliseconds(1));
        var rightAt = await Task.WhenAny(consume, Task.Delay(TimeSpan.FromSeconds(5)));

        justBefore.Should().NotBeSameAs(consume, "at 5 s - 1 ms the consumer is still waiting");
        asleepJustBefore.Should().Be(1);
        rightAt.Should().BeSameAs(consume, "at 5 s its wait has run out");
        (await consume).Should().BeEmpty();
    }

    /// <summary>
    /// A fake clock that counts the timers created running: a waiting consumer's deadline. (The reservation-expiry
    /// timer is created stopped and armed later by <c>Change</c>.)
    /// </summary>
    private sealed class DeadlineClock() : FakeTimeProvider(BrokerApplication.StartTime)
    {
        private int _deadlinesArmed;

        public int DeadlinesArmed => Volatile.Read(ref _deadlinesArmed);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime, period);
            if (dueTime != Timeout.InfiniteTimeSpan)
            {
                Interlocked.Increment(ref _deadlinesArmed);
            }

            return timer;
        }
    }
}
