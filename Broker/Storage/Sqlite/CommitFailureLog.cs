namespace WonderQ.Broker.Storage.Sqlite;

/// <summary>
/// The writer's log of failed commits. On a full disk every batch that needs room fails, and under load that is many
/// a second, between others that still commit (a claim that finds nothing, a small delete). So the first failure of a
/// kind is logged with its exception; repeats of it within <c>Outages:LogInterval</c> are only counted, and said in one
/// line with their count at the first failure after the interval (or before a failure of another kind); and the first
/// commit that changes rows after failures says once that commits succeed again. While a disk stays full that is at
/// most a summary and a recovery line an interval, however busy the broker. Used by the writer's thread alone.
/// </summary>
/// <remarks>
/// The line in full names the database file, as "the broker's disk is full" does not say which disk: the line at start
/// that named it may have been logged weeks before.
/// </remarks>
internal sealed class CommitFailureLog(ILogger logger, TimeProvider time, TimeSpan interval, string database)
{
    /// <summary>The kind last logged; kept after commits succeed again, so a relapse within the interval is only counted.</summary>
    private CommitFailure? _current;
    private string _reason = "";

    // Times since this log was made, on the monotonic clock: a step of the wall clock must not silence it.
    private readonly long _origin = time.GetTimestamp();
    private TimeSpan _nextLine;
    private int _unlogged;
    private long _committed;
    private int _failedBatches;
    private bool _recoveryLogged = true;

    /// <summary>
    /// The kinds logged in full since commits last succeeded again: on a full disk two can take turns (a write that
    /// finds no room, an fsync that fails), and each is logged with its exception once, not at every turn.
    /// </summary>
    private readonly HashSet<string> _loggedKinds = [];

    /// <summary>The kinds among the repeats not logged yet, named in their line.</summary>
    private readonly List<string> _unloggedKinds = [];

    /// <summary>No failure waits to be logged or recovered from: the writer need not report its commits.</summary>
    public bool Healthy => _recoveryLogged && _unlogged == 0;

    public void Failed(CommitFailure failure, Exception exception, int operations)
    {
        var now = time.GetElapsedTime(_origin);
        // The last kind logged is always among those logged in full.
        var seen = _loggedKinds.Contains(failure.Kind);
        if (seen && (now < _nextLine || !_recoveryLogged || _unlogged > 0))
        {
            // A failure already logged in full: counted, and said in one line once the interval has passed.
            if (_current?.Kind != failure.Kind)
            {
                _current = failure;
                _reason = exception.Message.TrimEnd('.');
            }

            if (!_unloggedKinds.Contains(failure.Kind))
            {
                _unloggedKinds.Add(failure.Kind);
            }

            _unlogged++;
            _failedBatches++;
            if (now >= _nextLine)
            {
                LogRepeats();
                _nextLine = now + interval;
                _recoveryLogged = false;
            }

            return;
        }

        // A failure of another kind, or this one again after commits had succeeded for a whole interval: in full.
        LogRepeats();
        _current = failure;
        _loggedKinds.Add(failure.Kind);
        _reason = exception.Message.TrimEnd('.');
        _nextLine = now + interval;
        _failedBatches++;
        _committed = 0;
        _recoveryLogged = false;
        logger.LogError(
            exception,
            "A write batch of {Operations} failed and was rolled back ({Kind}); its requests are answered 503: {Detail} The database is {Database}. Repeats are counted and logged at most once per Outages:LogInterval",
            Counted(operations, "operation", "operations"),
            failure.Kind,
            failure.Detail,
            database);
    }

    /// <summary>
    /// A batch committed while not <see cref="Healthy"/>. The first after failures that changed rows (<paramref name="wrote"/>)
    /// says so; after that, one that follows repeats counted since is said again once the interval has passed.
    /// </summary>
    public void Succeeded(bool wrote)
    {
        _committed++;
        var now = time.GetElapsedTime(_origin);
        if (!wrote || (_recoveryLogged && now < _nextLine))
        {
            return;
        }

        logger.LogInformation(
            "Commits succeed again after {Failed} (the last: {Kind}, {Reason})",
            Counted(_failedBatches, "failed batch", "failed batches"),
            _current?.Kind,
            _reason);
        _failedBatches = 0;
        _unlogged = 0;
        _committed = 0;
        _unloggedKinds.Clear();
        _recoveryLogged = true;
        _nextLine = now + interval;

        // A relapse of the last kind within the interval is only counted, as its repeats were; any other is news again.
        _loggedKinds.Clear();
        if (_current is not null)
        {
            _loggedKinds.Add(_current.Kind);
        }
    }

    /// <summary>The repeats not logged yet, as when the writer stops while commits still fail.</summary>
    public void Flush() => LogRepeats();

    private void LogRepeats()
    {
        if (_unlogged == 0)
        {
            return;
        }

        logger.LogError(
            "{Repeats} ({Kind}, {Reason}) since the last of these lines, and {Committed} committed",
            _unlogged == 1 ? "1 more write batch failed and was rolled back" : $"{_unlogged} more write batches failed and were rolled back",
            _unloggedKinds.Count > 0 ? string.Join(" and ", _unloggedKinds) : _current?.Kind,
            _reason,
            _committed);
        _unlogged = 0;
        _unloggedKinds.Clear();
        _committed = 0;
    }

    private static string Counted(long count, string one, string many) => count == 1 ? $"1 {one}" : $"{count} {many}";
}
