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
        var delay = ListenerBackoff.Delay(failures, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));

        delay.Should().Be(TimeSpan.FromSeconds(expectedSeconds));
    }
}
