using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using WonderQ.Broker.Messages;
using WonderQ.Broker.Storage;
using WonderQ.Shared.Contracts;

namespace WonderQ.Broker.Tests.Storage;

/// <summary>
/// The system clock stepping back (NTP correcting a clock that ran ahead, a virtual machine restored from a snapshot),
/// while the file holds each message's times as wall-clock instants.
/// </summary>
public sealed class ClockStepTests : IDisposable
{
    private static readonly TimeSpan _step = TimeSpan.FromHours(1);
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    [Fact]
    public async Task Messages_sent_before_the_clock_steps_back_stay_retrievable_and_come_first()
    {
        var clock = new SteppingClock();
        await using var app = new BrokerApplication(_database.Path, clock: clock);
        using var client = app.CreateClient();
        var queue = await client.CreateQueueAsync();
        var before = await client.SendAsync(queue.Id, "sent before the step");
        clock.StepBack(_step);
        var after = await client.SendAsync(queue.Id, "sent after it");

        var counts = await client.CountsAsync(queue.Id);
        var consumed = await client.ConsumeAsync(queue.Id, size: 2);

        counts.Should().Match<QueueCounts>(c => c.QueueSize == 2 && c.RetrievableSize == 2 && c.InFlightSize == 0);
        consumed.Select(m => m.Id).Should().Equal(before, after);
        consumed[1].CreatedAt.Should().BeOnOrAfter(consumed[0].CreatedAt, "a message's time never goes back");
    }

    [Theory]
    [InlineData(0, "sent before the restart")]
    // The clock resumes from the message's stamp, the latest in the file, not from its queue's older one.
    [InlineData(30, "sent half an hour after its queue")]
    public async Task A_broker_restarted_after_the_clock_stepped_back_delivers_a_message_sent_before_at_once_or_well_after_its_queue_was_created(
        int minutesAfterItsQueue, string body)
    {
        long queueId;
        long id;
        await using (var before = new BrokerApplication(_database.Path))
        {
            using var client = before.CreateClient();
            queueId = (await client.CreateQueueAsync()).Id;
            before.FakeClock.Advance(TimeSpan.FromMinutes(minutesAfterItsQueue));
            id = await client.SendAsync(queueId, body);
        }

        await using var after = new BrokerApplication(_database.Path, clock: new FakeTimeProvider(BrokerApplication.StartTime - _step));
        using var restarted = after.CreateClient();

        (await restarted.ConsumeAsync(queueId)).Should().ContainSingle().Which.Id.Should().Be(id);
    }

    [Fact]
    public async Task A_reservation_taken_while_the_clock_is_behind_runs_out_its_timeout_counted_from_where_the_clock_stood()
    {
        var clock = new SteppingClock();
        await using var app = new BrokerApplication(_database.Path, clock: clock);
        using var client = app.CreateClient();
        var queue = await client.CreateQueueAsync();
        var id = await client.SendAsync(queue.Id, "claimed while the clock is behind");
        clock.StepBack(TimeSpan.FromSeconds(10));
        (await client.ConsumeAsync(queue.Id, visibilityTimeout: 30)).Should().ContainSingle();

        clock.Advance(TimeSpan.FromSeconds(39));
        (await client.ConsumeAsync(queue.Id)).Should().BeEmpty("the reservation never runs out sooner than its timeout");
        clock.Advance(TimeSpan.FromSeconds(1));
        (await client.ConsumeAsync(queue.Id)).Should().ContainSingle().Which.Id.Should().Be(id);
    }

    [Fact]
    public async Task A_waiting_consumer_does_not_set_the_expiry_timer_going_again_and_again_while_the_clock_stands_still()
    {
        var clock = new ArmCountingClock();
        await using var app = new BrokerApplication(_database.Path, clock: clock);
        using var client = app.CreateClient();
        var queue = await client.CreateQueueAsync();
        var id = await client.SendAsync(queue.Id, "its reservation runs out a millisecond after the clock steps back");
        (await client.ConsumeAsync(queue.Id, visibilityTimeout: 30)).Should().ContainSingle();
        clock.Advance(TimeSpan.FromSeconds(30) - TimeSpan.FromMilliseconds(1));
        await client.CountsAsync(queue.Id);
        clock.StepBack(_step);

        var consume = client.ConsumeAsync(queue.Id, waitTime: 20);
        await Eventually.TrueAsync(() => clock.Arms > 0, "the waiting consumer's expiry timer armed");
        for (var millisecond = 0; millisecond < 1000; millisecond++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(1));
        }

        clock.Arms.Should().Be(1, "the reservation runs out when the wall clock catches up, an hour away, not every millisecond until then");
        clock.Advance(_step - TimeSpan.FromSeconds(1));
        (await client.ConsumeAsync(queue.Id)).Should().BeEmpty("the broker's time stood a millisecond short of the reservation's end");
        clock.Advance(TimeSpan.FromMilliseconds(1));
        (await client.ConsumeAsync(queue.Id)).Should().ContainSingle().Which.Id.Should().Be(id);
        await consume;
    }

    [Fact]
    public async Task A_step_back_longer_than_a_timer_can_wait_leaves_the_broker_answering_and_the_reservation_running_out()
    {
        var clock = new ArmCountingClock();
        await using var app = new BrokerApplication(_database.Path, clock: clock);
        using var client = app.CreateClient();
        var queue = await client.CreateQueueAsync();
        var id = await client.SendAsync(queue.Id, "reserved for 10 s as the clock steps back 60 days");
        (await client.ConsumeAsync(queue.Id, visibilityTimeout: 10)).Should().ContainSingle();
        var consume = client.ConsumeAsync(queue.Id, waitTime: 20);
        var waiters = app.Services.GetRequiredService<WaitingConsumers>();
        // Asleep too, not only the expiry timer armed: that is armed from the consumer's registration, and a clock
        // advanced before the consumer sets its own 20 s deadline would leave it waiting until the HttpClient gives up.
        await Eventually.TrueAsync(
            () => clock.Arms > 0 && waiters.AsleepOn(queue.Id) == 1, "the waiting consumer asleep, its expiry timer armed");
        clock.StepBack(TimeSpan.FromDays(60));

        // The expiry timer fires at 10 s, 60 days short of the reservation's end: set again, not thrown out of.
        clock.Advance(TimeSpan.FromSeconds(20));

        (await consume).Should().BeEmpty("the consumer's wait ran out");
        clock.Advance(TimeSpan.FromDays(60) - TimeSpan.FromSeconds(10));
        (await client.ConsumeAsync(queue.Id)).Should().ContainSingle().Which.Id.Should().Be(id);
    }

    [Fact]
    public void A_step_back_of_a_second_or_more_is_logged_once_until_the_clock_catches_up()
    {
        var clock = new SteppingClock();
        var log = new CommitWriterLog(typeof(StoreClock));
        using var factory = LoggerFactory.Create(logging => logging.AddProvider(log));
        var storeClock = new StoreClock(clock, factory.CreateLogger<StoreClock>());
        var start = storeClock.GetUtcNow();

        clock.StepBack(TimeSpan.FromMilliseconds(900));
        storeClock.GetUtcNow().Should().Be(start, "a clock's small correction is not logged, but time still stands");
        clock.Advance(TimeSpan.FromSeconds(1));
        storeClock.GetUtcNow().Should().BeAfter(start);
        clock.StepBack(_step);
        var stood = storeClock.GetUtcNow();
        storeClock.GetUtcNow().Should().Be(stood);
        clock.Advance(_step + TimeSpan.FromSeconds(1));
        storeClock.GetUtcNow().Should().BeAfter(stood);
        clock.StepBack(_step);
        storeClock.GetUtcNow();

        log.Entries.Should().HaveCount(2).And.OnlyContain(e => e.Level == LogLevel.Warning && e.Message.Contains("behind"));
    }

    /// <summary>Counts the timers set going by <c>Change</c>, as the reservation-expiry timer is (a waiter's own deadline is not).</summary>
    private sealed class ArmCountingClock : SteppingClock
    {
        private int _arms;

        public int Arms => Volatile.Read(ref _arms);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            new Timer(this, base.CreateTimer(callback, state, dueTime, period));

        private sealed class Timer(ArmCountingClock clock, ITimer inner) : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period)
            {
                if (dueTime != Timeout.InfiniteTimeSpan)
                {
                    Interlocked.Increment(ref clock._arms);
                }

                return inner.Change(dueTime, period);
            }

            public void Dispose() => inner.Dispose();

            public ValueTask DisposeAsync() => inner.DisposeAsync();
        }
    }
}
