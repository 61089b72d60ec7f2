using WonderQ.Shared.Web;

namespace WonderQ.Broker.Tests.Web;

/// <summary>The spacing of a repeating failure's log lines (a broker down, a disk failing every read), shared by the three apps.</summary>
public sealed class LogThrottleTests
{
    private static readonly TimeSpan _interval = TimeSpan.FromSeconds(10);

    [Fact]
    public void The_first_occurrence_is_logged_then_one_an_interval_counting_those_between()
    {
        var clock = new SteppingClock();
        var throttle = new LogThrottle(clock, _interval);

        throttle.ShouldLog(out _, out var first).Should().BeTrue();
        throttle.ShouldLog(out _, out _).Should().BeFalse();
        throttle.ShouldLog(out _, out _).Should().BeFalse();
        clock.Advance(_interval);

        throttle.ShouldLog(out var unlogged, out var spellStarts).Should().BeTrue();
        unlogged.Should().Be(2);
        first.Should().BeTrue();
        spellStarts.Should().BeFalse("the failure kept coming");
    }

    [Fact]
    public void A_wall_clock_stepping_back_does_not_silence_the_log()
    {
        var clock = new SteppingClock();
        var throttle = new LogThrottle(clock, _interval);
        throttle.ShouldLog(out _, out _).Should().BeTrue();

        clock.StepBack(TimeSpan.FromHours(1));
        clock.Advance(_interval);

        throttle.ShouldLog(out _, out _).Should().BeTrue("an interval is time elapsed, not a reading of the wall clock");
    }
}
