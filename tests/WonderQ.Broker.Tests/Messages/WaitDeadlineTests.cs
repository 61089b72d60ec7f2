using System.Net;
using Microsoft.Extensions.Time.Testing;
using WonderQ.Shared.Contracts;

namespace WonderQ.Broker.Tests.Messages;

/// <summary>
/// A long poll ends when its wait_time has passed on the broker's clock, to the millisecond: a consumer that asked to
/// wait 5 s (or sent no wait_time and waits the 20 s default) is neither answered [] a moment early nor held past it;
/// and a consumer waiting on a reserved message is answered with it the millisecond its reservation runs out.
/// FreshBroker.AdvanceUntilAnsweredAsync nudges the clock a second at a time and cannot tell the two apart (an answer
/// up to 5 s late passes there); here the clock says when the consumer has armed its deadline, or its queue its
/// expiry timer, so that time moves only once the timer counts.
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

    [Theory]
    [InlineData(5, 5)]
    [InlineData(null, 20)] // No wait_time: Limits:DefaultWaitTimeSeconds, 20 s as shipped.
    public async Task A_long_poll_on_an_empty_queue_still_waits_1_ms_before_its_wait_time_and_answers_empty_right_at_it(int? waitTime, int seconds)
    {
        var queue = await Client.CreateQueueAsync();
        var consume = Client.GetAsync($"/messages/consume?queue_id={queue.Id}" + (waitTime is { } given ? $"&wait_time={given}" : ""));
        await Eventually.TrueAsync(() => _clock.DeadlinesArmed == 1, "the consumer has armed its deadline");

        Clock.Advance(TimeSpan.FromSeconds(seconds) - TimeSpan.FromMilliseconds(1));
        var justBefore = await Task.WhenAny(consume, Task.Delay(TimeSpan.FromMilliseconds(200)));
        var asleepJustBefore = Waiters.AsleepOn(queue.Id);
        Clock.Advance(TimeSpan.FromMilliseconds(1));
        var rightAt = await Task.WhenAny(consume, Task.Delay(TimeSpan.FromSeconds(5)));

        justBefore.Should().NotBeSameAs(consume, $"at {seconds} s - 1 ms the consumer is still waiting");
        asleepJustBefore.Should().Be(1);
        rightAt.Should().BeSameAs(consume, $"at {seconds} s its wait has run out");
        using var response = await consume;
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.ReadAsync<MessageDto[]>()).Should().BeEmpty();
    }

    [Fact]
    public async Task A_consumer_waiting_on_a_reserved_message_is_answered_with_it_right_when_the_reservation_runs_out()
    {
        var queue = await Client.CreateQueueAsync();
        var id = await Client.SendAsync(queue.Id, "reserved for 10 s");
        (await Client.ConsumeAsync(queue.Id, visibilityTimeout: 10)).Should().ContainSingle();
        var consume = Client.ConsumeAsync(queue.Id, waitTime: 20);
        await Eventually.TrueAsync(() => _clock.ExpiriesArmed > 0, "the waiting consumer's queue has armed its expiry timer");

        Clock.Advance(TimeSpan.FromSeconds(10) - TimeSpan.FromMilliseconds(1));
        var justBefore = await Task.WhenAny(consume, Task.Delay(TimeSpan.FromMilliseconds(200)));
        Clock.Advance(TimeSpan.FromMilliseconds(1));
        var rightAt = await Task.WhenAny(consume, Task.Delay(TimeSpan.FromSeconds(5)));

        justBefore.Should().NotBeSameAs(consume, "at 10 s - 1 ms the message is still reserved");
        rightAt.Should().BeSameAs(consume, "at 10 s the reservation has run out and the waiting consumer is woken for it");
        (await consume).Should().ContainSingle().Which.Should().Match<MessageDto>(m => m.Id == id && m.ReceiveCount == 2);
    }

    /// <summary>
    /// A fake clock that counts the timers created running (a waiting consumer's deadline) and the times a timer
    /// created stopped is armed by <c>Change</c> (a queue's reservation-expiry timer).
    /// </summary>
    private sealed class DeadlineClock() : FakeTimeProvider(BrokerApplication.StartTime)
    {
        private int _deadlinesArmed;
        private int _expiriesArmed;

        public int DeadlinesArmed => Volatile.Read(ref _deadlinesArmed);

        public int ExpiriesArmed => Volatile.Read(ref _expiriesArmed);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime, period);
            if (dueTime != Timeout.InfiniteTimeSpan)
            {
                Interlocked.Increment(ref _deadlinesArmed);
                return timer;
            }

            return new ArmCountingTimer(this, timer);
        }

        private sealed class ArmCountingTimer(DeadlineClock clock, ITimer inner) : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period)
            {
                var changed = inner.Change(dueTime, period);
                if (dueTime != Timeout.InfiniteTimeSpan)
                {
                    Interlocked.Increment(ref clock._expiriesArmed);
                }

                return changed;
            }

            public void Dispose() => inner.Dispose();

            public ValueTask DisposeAsync() => inner.DisposeAsync();
        }
    }
}
