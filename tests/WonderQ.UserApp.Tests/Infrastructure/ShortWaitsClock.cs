using System.Collections.Concurrent;

namespace WonderQ.UserApp.Tests.Infrastructure;

/// <summary>
/// A fake clock on which a wait of less than <see cref="Longest"/> is over as soon as it is set, the clock moving on by
/// it: the loop's backoffs and pauses, the client's retry delays, a stop's grace. What follows a wait then takes no real
/// time, and a test can still see that it was waited, and how long, by the clock's time when the next thing happens.
/// The client's timeouts (10 s and more) run out only as far as those waits move the clock.
/// </summary>
public sealed class ShortWaitsClock : TimerWatchingClock
{
    public static readonly TimeSpan Longest = TimeSpan.FromSeconds(5);

    private readonly ConcurrentQueue<TimeSpan> _waits = new();

    /// <summary>The waits set on this clock and passed at once, in the order they were set.</summary>
    public IReadOnlyCollection<TimeSpan> Waits => _waits;

    protected override void Set(TimeSpan dueTime)
    {
        if (dueTime > TimeSpan.Zero && dueTime < Longest)
        {
            _waits.Enqueue(dueTime);
            // Not on this thread: the timer's owner does not hold it yet, and its callback may reach for it.
            _ = Task.Run(() => Advance(dueTime));
        }
    }
}
