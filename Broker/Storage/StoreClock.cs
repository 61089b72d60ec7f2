namespace WonderQ.Broker.Storage;

/// <summary>
/// The time messages are stamped with and compared against: the system's wall clock, except that it never goes back.
/// A message's times are wall-clock instants in the file, so a step back of the system clock (NTP correcting a clock
/// that ran ahead, a virtual machine restored from a snapshot) would otherwise hide the messages sent just before it,
/// whose visible_at then lies ahead, and hand newer messages out before them. Standing still until the wall clock
/// catches up instead only makes the reservations taken meanwhile last longer, never shorter. Timers and elapsed
/// times still come from the monotonic clock underneath, which no step of the wall clock moves.
/// </summary>
public sealed class StoreClock(TimeProvider time, ILogger<StoreClock> logger) : TimeProvider
{
    /// <summary>A step back smaller than this is a clock's ordinary correction, not worth a warning.</summary>
    private static readonly TimeSpan _warnAfter = TimeSpan.FromSeconds(1);

    private long _latestTicks;
    private int _standingStill;

    public override DateTimeOffset GetUtcNow()
    {
        var now = time.GetUtcNow();
        var latest = Raise(now.UtcTicks);
        if (latest == now.UtcTicks)
        {
            if (Volatile.Read(ref _standingStill) != 0)
            {
                Volatile.Write(ref _standingStill, 0);
            }

            return now;
        }

        var behind = TimeSpan.FromTicks(latest - now.UtcTicks);
        if (behind >= _warnAfter && Interlocked.Exchange(ref _standingStill, 1) == 0)
        {
            logger.LogWarning(
                "The system clock is {Behind} behind the latest time the broker stamped; message times stand still until it catches up",
                behind);
        }

        return new DateTimeOffset(latest, TimeSpan.Zero);
    }

    /// <summary>
    /// Never earlier than <paramref name="stamped"/>, the latest time found in the file at start: a broker restarted
    /// after the clock went back resumes where its stamps left off.
    /// </summary>
    public void NotBefore(DateTimeOffset stamped) => Raise(stamped.UtcTicks);

    /// <summary>
    /// How long until this clock reads <paramref name="at"/>. While it stands still that is as long as the wall clock
    /// takes to get there, not <paramref name="at"/> less the time it stands at: a timer set for that would fire, find the
    /// time unchanged and be set again, as often as that difference, until the wall clock caught up.
    /// </summary>
    public TimeSpan Until(DateTimeOffset at)
    {
        var now = time.GetUtcNow();
        return Raise(now.UtcTicks) >= at.UtcTicks ? TimeSpan.Zero : at - now;
    }

    /// <summary>The latest time so far, at least <paramref name="ticks"/>.</summary>
    private long Raise(long ticks)
    {
        var latest = Interlocked.Read(ref _latestTicks);
        while (ticks > latest)
        {
            var seen = Interlocked.CompareExchange(ref _latestTicks, ticks, latest);
            if (seen == latest)
            {
                return ticks;
            }

            latest = seen;
        }

        return latest;
    }

    public override long GetTimestamp() => time.GetTimestamp();

    public override long TimestampFrequency => time.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => time.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        time.CreateTimer(callback, state, dueTime, period);
}
