namespace WonderQ.UserApp.Listen;

public static class ListenerBackoff
{
    /// <summary>The pause after the <paramref name="failures"/>-th failure in a row: doubling from the initial delay, capped.</summary>
    public static TimeSpan Delay(int failures, TimeSpan initial, TimeSpan max)
    {
        var doublings = Math.Clamp(failures - 1, 0, 30);
        var delay = initial * Math.Pow(2, doublings);
        return delay > max ? max : delay;
    }
}
