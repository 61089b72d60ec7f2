namespace WonderQ.UserApp.Listen;

public static class ListenerBackoff
{
    /// <summary>
    /// The pause after the <paramref name="failures"/>-th failure in a row: doubling from the initial delay, capped,
    /// then shortened by up to a quarter by <paramref name="spread"/> (0 to 1, a random draw). Loops that failed together
    /// in one outage would otherwise all try again in the same instant, each time.
    /// </summary>
    public static TimeSpan Delay(int failures, TimeSpan initial, TimeSpan max, double spread)
    {
        var doublings = Math.Clamp(failures - 1, 0, 30);
        var delay = initial * Math.Pow(2, doublings);
        return (delay > max ? max : delay) * (1 - (Math.Clamp(spread, 0, 1) / 4));
    }
}
