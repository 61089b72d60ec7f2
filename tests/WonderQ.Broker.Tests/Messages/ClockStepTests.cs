using Microsoft.Extensions.Time.Testing;
using WonderQ.Broker.Storage;

namespace WonderQ.Broker.Tests.Messages;

/// <summary>
/// The wall clock can be stepped (NTP, a VM resumed, an operator), backwards as well as forwards. A long poll's
/// wait_time is a duration: a consumer woken for nothing after such a step must still be answered once its
/// wait_time has passed, not an hour later because the wall clock says the wait has barely begun.
/// </summary>
public sealed class ClockStepTests : FreshBroker
{
    private readonly SteppingClock _clock;

    public ClockStepTests()
        : this(new SteppingClock())
    {
    }

    private ClockStepTests(SteppingClock clock)
        : base(new BrokerApplication(clock: clock)) => _clock = clock;

    [Fact]
    public async Task A_long_poll_woken_for_nothing_after_the_wall_clock_stepped_back_still_ends_at_its_wait_time()
    {
        var queue = await Client.CreateQueueAsync();
        var consume = Client.ConsumeAsync(queue.Id, waitTime: 20);
        await AsleepAsync(queue.Id);

        _clock.StepWallClock(TimeSpan.FromHours(-1));
        // Woken for nothing, as when a claim earlier in the same commit took the message it was woken for.
        Waiters.Take(queue.Id, 1).Should().ContainSingle().Subject.HandOver(Task.FromResult<ClaimResult?>(new ClaimResult(queue.Id, [])));
        await AsleepAsync(queue.Id);
        Clock.Advance(TimeSpan.FromSeconds(19));
        await Task.Delay(TimeSpan.FromMilliseconds(200));
        consume.IsCompleted.Should().BeFalse("its wait_time has not passed yet");

        (await AdvanceUntilAnsweredAsync(consume, TimeSpan.FromSeconds(1))).Should().BeEmpty();
    }

    /// <summary>A fake clock whose wall-clock reading can be stepped while its timers and timestamps run on.</summary>
    private sealed class SteppingClock() : FakeTimeProvider(BrokerApplication.StartTime)
    {
        private long _stepTicks;

        public void StepWallClock(TimeSpan by) => Interlocked.Add(ref _stepTicks, by.Ticks);

        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + TimeSpan.FromTicks(Volatile.Read(ref _stepTicks));

        /// <summary>Monotonic, as a real clock's timestamp is: FakeTimeProvider's own reads the wall clock above.</summary>
        public override long GetTimestamp() => base.GetUtcNow().UtcTicks;
    }
}
