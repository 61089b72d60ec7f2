namespace WonderQ.Shared.Web;

/// <summary>
/// Spaces out the log lines of a failure that repeats (a broker down, a disk that fails every read): the first at
/// once, then at most one every interval (<see cref="OutageOptions.LogInterval"/>), each saying how many it stands
/// for. A dashboard polling each second would otherwise write a line a second for as long as the failure lasts.
/// </summary>
public sealed class LogThrottle(TimeProvider time, TimeSpan interval)
{
    private readonly Lock _lock = new();

    // Times since this throttle was made, on the monotonic clock: a step of the wall clock must not silence the log.
    private readonly long _origin = time.GetTimestamp();
    private TimeSpan _nextLine;
    private TimeSpan? _last;
    private int _unlogged;

    /// <summary>
    /// Counts one occurrence and says whether to log it: if so, <paramref name="unlogged"/> is how many since the last
    /// line were only counted, and <paramref name="spellStarts"/> whether none came for a whole interval before it.
    /// </summary>
    public bool ShouldLog(out int unlogged, out bool spellStarts)
    {
        lock (_lock)
        {
            var now = time.GetElapsedTime(_origin);
            spellStarts = _last is not { } last || now - last > interval;
            _last = now;
            if (now < _nextLine)
            {
                _unlogged++;
                unlogged = 0;
                return false;
            }

            _nextLine = now + interval;
            unlogged = _unlogged;
            _unlogged = 0;
            return true;
        }
    }

    /// <summary>
    /// What a logged line adds for the occurrences only counted since the last one: nothing when there were none, so
    /// that no line reads "0 more", and the noun in the number the count takes.
    /// </summary>
    public static string Repeats(int unlogged, string one, string many) => unlogged switch
    {
        0 => "",
        1 => $" (1 more such {one} since the last of these lines)",
        _ => $" ({unlogged} more such {many} since the last of these lines)",
    };
}
