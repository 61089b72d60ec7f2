using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace WonderQ.LoadTest;

/// <summary>Latencies of one kind of operation, in milliseconds.</summary>
internal sealed class Recorder(string name)
{
    private readonly Lock _lock = new();
    private readonly List<double> _millis = new(1 << 16);

    public string Name { get; } = name;

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _millis.Count;
            }
        }
    }

    /// <summary>Records the time since <paramref name="startedTimestamp"/> (a <see cref="Stopwatch"/> timestamp).</summary>
    public void Add(long startedTimestamp) => AddMillis(Stopwatch.GetElapsedTime(startedTimestamp).TotalMilliseconds);

    public void AddMillis(double millis)
    {
        lock (_lock)
        {
            _millis.Add(millis);
        }
    }

    public OperationStats Summarize(TimeSpan elapsed)
    {
        double[] sorted;
        lock (_lock)
        {
            sorted = [.. _millis];
        }

        Array.Sort(sorted);
        double At(double q) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
        return new OperationStats(
            Name,
            sorted.Length,
            elapsed.TotalSeconds > 0 ? sorted.Length / elapsed.TotalSeconds : 0,
            Math.Round(At(0.50), 3),
            Math.Round(At(0.90), 3),
            Math.Round(At(0.99), 3),
            Math.Round(sorted.Length == 0 ? 0 : sorted[^1], 3));
    }
}

internal sealed record OperationStats(string Operation, long Count, double PerSecond, double P50Ms, double P90Ms, double P99Ms, double MaxMs);

/// <summary>Failed requests by operation and HTTP status (or exception type when there was no answer).</summary>
internal sealed class Errors
{
    private readonly ConcurrentDictionary<string, long> _counts = new();

    public long Total => _counts.Values.Sum();

    public void Add(string operation, HttpStatusCode status) =>
        _counts.AddOrUpdate($"{operation} {(int)status}", 1, (_, n) => n + 1);

    public void Add(string operation, Exception ex) =>
        _counts.AddOrUpdate($"{operation} {ex.GetType().Name}: {Describe(ex)}", 1, (_, n) => n + 1);

    public void Add(string what) => _counts.AddOrUpdate(what, 1, (_, n) => n + 1);

    public Dictionary<string, long> Snapshot() => new(_counts.OrderBy(kv => kv.Key, StringComparer.Ordinal));

    private static string Describe(Exception ex) =>
        (ex.InnerException ?? ex).Message is { Length: > 80 } m ? m[..80] : (ex.InnerException ?? ex).Message;
}

/// <summary>
/// Which messages were acknowledged (a 201, or a 200 from the original WonderQ), received and deleted, by the sequence
/// number each body carries (a consumer can receive a message before its producer has read the answer, so ids cannot
/// be the key).
/// </summary>
/// <param name="bodyBytes">The size every body of the run was sent at, so that one that comes back changed is caught.</param>
internal sealed class Ledger(TimeSpan visibilityTimeout, int bodyBytes)
{
    private readonly ConcurrentDictionary<long, long> _sent = new();
    private readonly ConcurrentDictionary<long, Receipt> _firstReceived = new();
    private readonly ConcurrentDictionary<long, byte> _redelivered = new();
    private readonly ConcurrentDictionary<long, long> _deletedAt = new();
    private readonly Lock _repeats = new();
    private readonly Dictionary<long, Receipt> _latestRepeat = [];
    private readonly ConcurrentQueue<(long? Seq, int Status)> _refused = new();
    private long _duplicates;
    private long _tolerated;
    private long _afterDelete;
    private long _foreign;
    private long _foreignDeleted;
    private long _corrupted;
    private long _nextSeq;

    public long NextSeq() => Interlocked.Increment(ref _nextSeq);

    public long Sent => _sent.Count;

    public long Received => _firstReceived.Count;

    public long Duplicates => Interlocked.Read(ref _duplicates);

    public long ToleratedDuplicates => Interlocked.Read(ref _tolerated);

    /// <summary>
    /// Receipts from a consume sent after a delete of the same message was answered 200: a delivery after its
    /// acknowledgement, which no timing excuses.
    /// </summary>
    public long ReceivedAfterDelete => Interlocked.Read(ref _afterDelete);

    public long Foreign => Interlocked.Read(ref _foreign);

    /// <summary>Receipts of this run's messages whose body is not the one sent (cut short, grown or altered).</summary>
    public long Corrupted => Interlocked.Read(ref _corrupted);

    /// <summary>Messages of other runs (already in the queue) that a consumer received and deleted.</summary>
    public long ForeignDeleted => Interlocked.Read(ref _foreignDeleted);

    public void ForeignAcknowledged() => Interlocked.Increment(ref _foreignDeleted);

    public void Acknowledged(long seq, long id) => _sent[seq] = id;

    /// <summary>
    /// A delete of message <paramref name="seq"/> was answered 200 at <paramref name="answeredAt"/> (a
    /// <see cref="Stopwatch"/> timestamp taken once the answer was read: a consume sent after it was certainly sent
    /// after the server answered). True for the message's first such answer only: a second 200 for it is not another
    /// message delivered.
    /// </summary>
    public bool Deleted(long seq, long answeredAt) => _deletedAt.TryAdd(seq, answeredAt);

    /// <summary>
    /// Records a receipt of message <paramref name="id"/> from a consume sent at <paramref name="askedAt"/> (a
    /// <see cref="Stopwatch"/> timestamp); returns its sequence number, or null for a body this run did not send.
    /// </summary>
    public long? Receive(long id, string body, string runTag, long askedAt, out bool first)
    {
        first = false;
        if (!Body.TryParse(body, runTag, out var seq, out _))
        {
            Interlocked.Increment(ref _foreign);
            return null;
        }

        if (!Body.IsIntact(body, bodyBytes))
        {
            Interlocked.Increment(ref _corrupted);
        }

        var receipt = new Receipt(askedAt, Stopwatch.GetTimestamp(), id);
        first = _firstReceived.TryAdd(seq, receipt);
        if (!first)
        {
            _redelivered.TryAdd(seq, 0);
            Receipt earlier;
            lock (_repeats)
            {
                // Compared with the latest receipt before it, not the first: a redelivery after the first reservation
                // ran out is the queue at work, and one more moments after that is a duplicate all the same.
                earlier = _latestRepeat.TryGetValue(seq, out var latest) ? latest : _firstReceived[seq];
                _latestRepeat[seq] = receipt;
            }

            if (_deletedAt.TryGetValue(seq, out var deletedAt) && askedAt > deletedAt)
            {
                // Its consume was sent after a delete of the message was answered 200: the server said it was gone.
                Interlocked.Increment(ref _afterDelete);
                return seq;
            }

            // Each claim happened between its consume's sending and its answer. A second delivery is a duplicate only
            // when the two claims were certainly less than the visibility timeout apart; otherwise the earlier
            // reservation may have run out, and a redelivery is what a queue does.
            var mostApart = TimeSpan.FromTicks(Math.Max(
                Stopwatch.GetElapsedTime(earlier.AskedAt, receipt.AnsweredAt).Ticks,
                Stopwatch.GetElapsedTime(receipt.AskedAt, earlier.AnsweredAt).Ticks));
            if (mostApart >= visibilityTimeout)
            {
                Interlocked.Increment(ref _tolerated);
            }
            else
            {
                Interlocked.Increment(ref _duplicates);
            }
        }

        return seq;
    }

    private readonly record struct Receipt(long AskedAt, long AnsweredAt, long Id);

    /// <summary>A delete answered 404 or 409; judged by <see cref="SettleRefusedAcknowledgements"/> once the run is over.</summary>
    public void AcknowledgementRefused(long? seq, int status) => _refused.Enqueue((seq, status));

    /// <summary>
    /// A delete refused for a message that was redelivered is the queue at work: the first consumer's reservation ran
    /// out and its token with it. So is any refusal under a visibility timeout of 0: a reservation has run out before
    /// its delete is sent, and a consume whose answer the run never read (a long poll it gave up on) may have claimed
    /// the message since. Any other refusal is an error. Returns the former's count.
    /// </summary>
    public long SettleRefusedAcknowledgements(Errors errors)
    {
        long superseded = 0;
        while (_refused.TryDequeue(out var refused))
        {
            if (visibilityTimeout == TimeSpan.Zero || (refused.Seq is { } seq && _redelivered.ContainsKey(seq)))
            {
                superseded++;
            }
            else
            {
                errors.Add(BrokerClient.DeleteMessage, (HttpStatusCode)refused.Status);
            }
        }

        return superseded;
    }

    /// <summary>Acknowledged but never received.</summary>
    public long Unreceived => _sent.Keys.Count(seq => !_firstReceived.ContainsKey(seq));

    /// <summary>Received though its send was not acknowledged (it failed on the client side after the commit).</summary>
    public long ReceivedUnacknowledged => _firstReceived.Keys.Count(seq => !_sent.ContainsKey(seq));

    public long DistinctIds => _sent.Values.Distinct().LongCount();

    /// <summary>Received under an id other than the one its send was answered with: a consumer could not act on either.</summary>
    public long ReceivedUnderAnotherId => _firstReceived.Count(kv => _sent.TryGetValue(kv.Key, out var id) && id != kv.Value.Id);
}

/// <summary>Message bodies: <c>wq:{run}:{seq}:{stopwatch timestamp}:</c> padded with 'x' to the requested size.</summary>
internal static class Body
{
    public static string Create(string runTag, long seq, int bytes)
    {
        var head = string.Create(CultureInfo.InvariantCulture, $"wq:{runTag}:{seq}:{Stopwatch.GetTimestamp()}:");
        return head.Length >= bytes ? head : head + new string('x', bytes - head.Length);
    }

    public static bool TryParse(string body, string runTag, out long seq, out long timestamp)
    {
        seq = 0;
        timestamp = 0;
        var parts = body.Split(':', 5);
        return parts.Length >= 4 && parts[0] == "wq" && parts[1] == runTag
            && long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out seq)
            && long.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out timestamp);
    }

    /// <summary>Whether a body that <see cref="TryParse"/> read is what <see cref="Create"/> made for <paramref name="bytes"/>.</summary>
    public static bool IsIntact(string body, int bytes)
    {
        // The head ends at its fourth ':'; a ':' in the padding is itself a change.
        var head = 0;
        for (var i = 0; i < 4 && head >= 0; i++)
        {
            head = body.IndexOf(':', head);
            head = head < 0 ? -1 : head + 1;
        }

        return head > 0 && body.Length == Math.Max(head, bytes) && !body.AsSpan(head).ContainsAnyExcept('x');
    }
}

/// <summary>The broker's resident set size from /proc.</summary>
internal static class Rss
{
    public static long? ReadKiB(int? pid)
    {
        if (pid is not { } p)
        {
            return null;
        }

        try
        {
            foreach (var line in File.ReadLines($"/proc/{p}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }

        return null;
    }
}

/// <summary>CPU time used, so figures from a shared, noisy machine can be read per message as well as per second.</summary>
internal static class Cpu
{
    /// <summary>The broker's user+system CPU time from /proc/PID/stat, or null.</summary>
    public static TimeSpan? Broker(int? pid)
    {
        if (pid is not { } p)
        {
            return null;
        }

        try
        {
            var stat = File.ReadAllText($"/proc/{p}/stat");
            // Fields after the command name (which may hold spaces) start after the last ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return TimeSpan.FromSeconds(ticks / 100.0);
        }
        catch (IOException)
        {
            return null;
        }
    }

    public static TimeSpan LoadGenerator() => Process.GetCurrentProcess().TotalProcessorTime;
}

/// <summary>TCP connections this process has established to a port, from /proc/net/tcp{,6} and /proc/self/fd.</summary>
internal static class Connections
{
    /// <summary>
    /// This process's established TCP connections to <paramref name="port"/>: /proc/net/tcp lists every process's
    /// (another client of the server, another load test), so only the sockets among this process's own files count.
    /// </summary>
    public static int EstablishedTo(int port)
    {
        var hexPort = ":" + port.ToString("X4", CultureInfo.InvariantCulture);
        var own = OwnSockets();
        var count = 0;
        foreach (var file in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            if (!File.Exists(file))
            {
                continue;
            }

            foreach (var line in File.ReadLines(file).Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                // local_address rem_address st: a client side has the broker's port as its remote end; 01 is ESTABLISHED.
                if (fields.Length > 9 && fields[2].EndsWith(hexPort, StringComparison.Ordinal) && fields[3] == "01" && own.Contains(fields[9]))
                {
                    count++;
                }
            }
        }

        return count;
    }

    /// <summary>The inodes of the sockets this process holds open (each /proc/self/fd link reads "socket:[inode]").</summary>
    private static HashSet<string> OwnSockets()
    {
        var inodes = new HashSet<string>(StringComparer.Ordinal);
        if (!Directory.Exists("/proc/self/fd"))
        {
            return inodes;
        }

        foreach (var fd in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(fd).LinkTarget is { } target && target.StartsWith("socket:[", StringComparison.Ordinal))
                {
                    inodes.Add(target["socket:[".Length..^1]);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Closed since it was listed.
            }
        }

        return inodes;
    }
}
