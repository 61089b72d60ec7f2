using WonderQ.UserApp.Listen;

namespace WonderQ.UserApp.Tests.Listen;

public class ListenerBackoffTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 4)]
    [InlineData(5, 16)]
    [InlineData(6, 30)]
    [InlineData(1000, 30)]
    public void Backoff_doubles_from_the_initial_delay_up_to_the_cap(int failures, int expectedSeconds)
    {
        var delay = ListenerBackoff.Delay(failures, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), spread: 0);

        delay.Should().Be(TimeSpan.FromSeconds(expectedSeconds));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 4)]
    [InlineData(1000, 30)]
    public void Backoff_is_spread_over_its_last_quarter_so_loops_that_failed_together_do_not_retry_together(int failures, int seconds)
    {
        var full = TimeSpan.FromSeconds(seconds);

        ListenerBackoff.Delay(failures, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), spread: 1).Should().Be(full * 0.75);
        ListenerBackoff.Delay(failures, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), spread: 0.5).Should().Be(full * 0.875);
        var draws = Enumerable.Range(0, 100).Select(_ => ListenerBackoff.Delay(failures, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), Random.Shared.NextDouble())).ToList();
        draws.Should().OnlyContain(d => d >= full * 0.75 && d <= full, "never past the cap, nor shorter than three quarters");
        draws.Distinct().Should().HaveCountGreaterThan(50, "a hundred loops draw a hundred different pauses");
    }
}
