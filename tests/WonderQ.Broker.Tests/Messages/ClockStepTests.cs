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

    /// <summary>
    /// The expiry is a wall-clock time and the timer that wakes a waiter for it counts on the monotonic clock: a step
    /// forward past the expiry must not leave the waiter asleep until its wait_time ends (or the message's visibility
    /// timeout, had it less left than that), as a resumed virtual machine's consumers would.
    /// </summary>
    [Fact]
    public async Task A_consumer_waiting_for_a_reservation_to_run_out_gets_the_message_soon_after_the_wall_clock_stepped_past_it()
    {
        var queue = await Client.CreateQueueAsync();
        var id = await Client.SendAsync(queue.Id, "reserved for 10 min");
        (await Client.ConsumeAsync(queue.Id, visibilityTimeout: 600)).Should().ContainSingle();
        var consume = Client.ConsumeAsync(queue.Id, waitTime: 20);
        await AsleepAsync(queue.Id);

        _clock.StepForward(TimeSpan.FromHours(1));
        Clock.Advance(TimeSpan.FromSeconds(5));

        (await consume.WaitAsync(TimeSpan.FromSeconds(10))).Should().ContainSingle().Which.Id.Should().Be(id);
    }

    [Fact]
    public async Task A_long_poll_woken_for_nothing_after_the_wall_clock_stepped_back_still_ends_at_its_wait_time()
    {
        var queue = await Client.CreateQueueAsync();
        var consume = Client.ConsumeAsync(queue.Id, waitTime: 20);
        await AsleepAsync(queue.Id);

        _clock.StepBack(TimeSpan.FromHours(1));
        // Woken for nothing, as when a claim earlier in the same commit took the message it was woken for.
        Waiters.Take(queue.Id, 1).Should().ContainSingle().Subject.HandOver(Task.FromResult<ClaimResult?>(new ClaimResult(queue.Id, [])));
        await AsleepAsync(queue.Id);
        Clock.Advance(TimeSpan.FromSeconds(19));
        await Task.Delay(TimeSpan.FromMilliseconds(200));
        consume.IsCompleted.Should().BeFalse("its wait_time has not passed yet");

        (await AdvanceUntilAnsweredAsync(consume, TimeSpan.FromSeconds(1))).Should().BeEmpty();
    }
}
