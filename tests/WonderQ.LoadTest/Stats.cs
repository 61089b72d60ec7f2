using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

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
            // To 0.1, as the run's throughput is: the digits past it were only noise in the JSON.
            elapsed.TotalSeconds > 0 ? Math.Round(sorted.Length / elapsed.TotalSeconds, 1) : 0,
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
/// <remarks>
/// Kept in arrays indexed by sequence number, about 48 bytes a message, rather than in dictionaries, which took about
/// 300 bytes a message in objects the collector had to trace: a long run tracked millions, and the tool's collections
/// paused its requests on the cores it shares with the server it measures.
/// </remarks>
/// <param name="bodyBytes">The size every body of the run was sent at, so that one that comes back changed is caught.</param>
internal sealed class Ledger(TimeSpan visibilityTimeout, int bodyBytes)
{
    private const int ChunkBits = 16;
    private const int ChunkSize = 1 << ChunkBits;

    /// <summary>Sequence numbers from 1 to this; a body that names another was altered on its way.</summary>
    public const long MaxSeq = (long)ChunkSize << 15;

    private readonly Entry[]?[] _chunks = new Entry[]?[MaxSeq >> ChunkBits];
    private readonly Lock _repeats = new();
    private readonly Dictionary<long, Receipt> _latestRepeat = [];
    private readonly ConcurrentQueue<(long? Seq, int Status)> _refused = new();
    private long _highest;
    private long _sent;
    private long _received;
    private long _duplicates;
    private long _tolerated;
    private long _afterDelete;
    private long _foreign;
    private long _foreignDeleted;
    private long _corrupted;
    private long _nextSeq;

    public long NextSeq() => Interlocked.Increment(ref _nextSeq);

    public long Sent => Interlocked.Read(ref _sent);

    public long Received => Interlocked.Read(ref _received);

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

    public void Acknowledged(long seq, long id)
    {
        ref var entry = ref Slot(seq);
        entry.SentId = id;
        if ((Interlocked.Or(ref entry.State, Entry.Acknowledged) & Entry.Acknowledged) == 0)
        {
            Interlocked.Increment(ref _sent);
        }
    }

    /// <summary>
    /// A delete of message <paramref name="seq"/> was answered 200 at <paramref name="answeredAt"/> (a
    /// <see cref="Stopwatch"/> timestamp taken once the answer was read: a consume sent after it was certainly sent
    /// after the server answered). True for the message's first such answer only: a second 200 for it is not another
    /// message delivered. False for a number out of the ledger's range, which only an altered body carries: no message
    /// of the run to count.
    /// </summary>
    public bool Deleted(long seq, long answeredAt) =>
        seq is >= 1 and <= MaxSeq && Interlocked.CompareExchange(ref Slot(seq).DeletedAt, answeredAt, 0) == 0;

    /// <summary>
    /// Records a receipt of message <paramref name="id"/> from a consume sent at <paramref name="askedAt"/> (a
    /// <see cref="Stopwatch"/> timestamp); returns its sequence number, or null for a body this run did not send.
    /// </summary>
    public long? Receive(long id, string body, string runTag, long askedAt, out bool first)
    {
        first = false;
        if (!Body.TryParse(body, runTag, out var seq, out var sentAt))
        {
            Interlocked.Increment(ref _foreign);
            return null;
        }

        if (seq is < 1 or > MaxSeq)
        {
            // The run's tag with a number it cannot have sent: altered, and no message of the run to count it against.
            // Still the run's to delete, and not another run's to count (see Deleted).
            Interlocked.Increment(ref _corrupted);
            return seq;
        }

        if (!Body.IsIntact(body, bodyBytes))
        {
            Interlocked.Increment(ref _corrupted);
        }

        // Claimed no sooner than it was sent: a long poll waiting since long before the send would otherwise stretch
        // two claims moments apart to look a visibility timeout apart, and excuse a duplicate as a redelivery.
        var receipt = new Receipt(Math.Max(askedAt, sentAt), Stopwatch.GetTimestamp(), id);
        ref var entry = ref Slot(seq);
        first = (Interlocked.Or(ref entry.State, Entry.Claimed) & Entry.Claimed) == 0;
        if (first)
        {
            entry.First = receipt;
            Interlocked.Or(ref entry.State, Entry.Recorded);
            Interlocked.Increment(ref _received);
            return seq;
        }

        Interlocked.Or(ref entry.State, Entry.Redelivered);

        // The first receipt's consumer may still be writing it down; waited for outside the lock, so that other repeats
        // do not wait for it too.
        var wait = new SpinWait();
        while ((Volatile.Read(ref entry.State) & Entry.Recorded) == 0)
        {
            wait.SpinOnce();
        }

        Receipt earlier;
        lock (_repeats)
        {
            // Compared with the latest receipt before it, not the first: a redelivery after the first reservation ran
            // out is the queue at work, and one more moments after that is a duplicate all the same.
            if (!_latestRepeat.TryGetValue(seq, out earlier))
            {
                earlier = entry.First;
            }

            _latestRepeat[seq] = receipt;
        }

        if (Volatile.Read(ref entry.DeletedAt) is var deletedAt and not 0 && askedAt > deletedAt)
        {
            // Its consume was sent after a delete of the message was answered 200: the server said it was gone.
            Interlocked.Increment(ref _afterDelete);
            return seq;
        }

        // Each claim happened between its consume's sending and its answer. A second delivery is a duplicate only when
        // the two claims were certainly less than the visibility timeout apart; otherwise the earlier reservation may
        // have run out, and a redelivery is what a queue does.
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

        return seq;
    }

    private readonly record struct Receipt(long AskedAt, long AnsweredAt, long Id);

    /// <summary>What the run knows of one message. Any thread may hold an answer about it, so its state bits are set with <see cref="Interlocked"/>.</summary>
    private struct Entry
    {
        public const int Acknowledged = 1;

        /// <summary>A receipt is being or has been written down as the first.</summary>
        public const int Claimed = 2;

        /// <summary><see cref="First"/> is written.</summary>
        public const int Recorded = 4;

        public const int Redelivered = 8;

        public int State;
        public long SentId;
        public long DeletedAt;
        public Receipt First;
    }

    /// <summary>The entry of <paramref name="seq"/>, which must be from 1 to <see cref="MaxSeq"/>, its chunk made on first use.</summary>
    private ref Entry Slot(long seq)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(seq, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(seq, MaxSeq);
        var index = seq - 1;
        var chunk = Volatile.Read(ref _chunks[index >> ChunkBits]);
        if (chunk is null)
        {
            var made = new Entry[ChunkSize];
            chunk = Interlocked.CompareExchange(ref _chunks[index >> ChunkBits], made, null) ?? made;
        }

        for (var highest = Interlocked.Read(ref _highest); seq > highest; highest = Interlocked.Read(ref _highest))
        {
            Interlocked.CompareExchange(ref _highest, seq, highest);
        }

        return ref chunk[index & (ChunkSize - 1)];
    }

    /// <summary>Every entry written so far, for the counts taken once the run's requests are done.</summary>
    private IEnumerable<Entry> Entries()
    {
        var highest = Interlocked.Read(ref _highest);
        for (long index = 0; index < highest; index++)
        {
            if (_chunks[index >> ChunkBits] is { } chunk)
            {
                yield return chunk[index & (ChunkSize - 1)];
            }
            else
            {
                index += ChunkSize - 1;
            }
        }
    }

    private bool Was(long seq, int state) =>
        seq is >= 1 and <= MaxSeq && _chunks[(seq - 1) >> ChunkBits] is { } chunk
        && (Volatile.Read(ref chunk[(seq - 1) & (ChunkSize - 1)].State) & state) != 0;

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
            if (visibilityTimeout == TimeSpan.Zero || (refused.Seq is { } seq && Was(seq, Entry.Redelivered)))
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
    public long Unreceived => Entries().LongCount(e => (e.State & (Entry.Acknowledged | Entry.Claimed)) == Entry.Acknowledged);

    /// <summary>Received though its send was not acknowledged (it failed on the client side after the commit).</summary>
    public long ReceivedUnacknowledged => Entries().LongCount(e => (e.State & (Entry.Acknowledged | Entry.Claimed)) == Entry.Claimed);

    public long DistinctIds => Entries().Where(e => (e.State & Entry.Acknowledged) != 0).Select(e => e.SentId).Distinct().LongCount();

    /// <summary>Received under an id other than the one its send was answered with: a consumer could not act on either.</summary>
    public long ReceivedUnderAnotherId => Entries().LongCount(
        e => (e.State & (Entry.Acknowledged | Entry.Recorded)) == (Entry.Acknowledged | Entry.Recorded) && e.SentId != e.First.Id);
}

/// <summary>
/// A message body: <c>wq:{run}:{seq}:{stopwatch timestamp}:</c> padded with 'x' to <see cref="Bytes"/>, all ASCII.
/// Written straight into a request as UTF-8: a body made as a string first cost a send two or three times its size in
/// garbage, and the tool's collections paused it on the cores the server it measures needs.
/// </summary>
internal readonly record struct Body(string RunTag, long Seq, long SentAt, int Bytes)
{
    /// <summary>A body stamped now.</summary>
    public static Body Stamped(string runTag, long seq, int bytes) => new(runTag, seq, Stopwatch.GetTimestamp(), bytes);

    /// <summary>Writes it as the JSON string <paramref name="property"/>.</summary>
    public void WriteTo(Utf8JsonWriter json, ReadOnlySpan<byte> property)
    {
        Span<byte> head = stackalloc byte[64 + RunTag.Length];
        var length = Head(head);
        var total = Math.Max(length, Bytes);
        byte[]? rented = null;
        var value = total <= 4096 ? stackalloc byte[total] : (rented = ArrayPool<byte>.Shared.Rent(total)).AsSpan(0, total);
        head[..length].CopyTo(value);
        value[length..].Fill((byte)'x');
        try
        {
            json.WriteString(property, value);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    public override string ToString()
    {
        Span<byte> head = stackalloc byte[64 + RunTag.Length];
        var length = Head(head);
        return string.Create(Math.Max(length, Bytes), head[..length], static (body, head) =>
        {
            Ascii.ToUtf16(head, body, out _);
            body[head.Length..].Fill('x');
        });
    }

    private int Head(Span<byte> destination)
    {
        // A byte a character: the padding is counted in both, and a receipt's length is read in characters.
        if (!Ascii.IsValid(RunTag))
        {
            throw new InvalidOperationException($"A run tag is ASCII, not '{RunTag}'.");
        }

        return Utf8.TryWrite(destination, CultureInfo.InvariantCulture, $"wq:{RunTag}:{Seq}:{SentAt}:", out var length)
            ? length
            : throw new InvalidOperationException("Two longs and a tag take less room than that.");
    }

    public static bool TryParse(string body, string runTag, out long seq, out long timestamp)
    {
        seq = 0;
        timestamp = 0;
        var rest = body.AsSpan();
        if (!(TakePart(ref rest, out var wq) && wq is "wq" && TakePart(ref rest, out var tag) && tag.SequenceEqual(runTag)
            && TakePart(ref rest, out var number) && long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out seq)))
        {
            return false;
        }

        // The timestamp ends at the next ':', or with the body when it was cut short there.
        var colon = rest.IndexOf(':');
        return long.TryParse(colon < 0 ? rest : rest[..colon], NumberStyles.None, CultureInfo.InvariantCulture, out timestamp);
    }

    /// <summary>The text up to the next ':', which <paramref name="rest"/> then starts after; false when there is none.</summary>
    private static bool TakePart(ref ReadOnlySpan<char> rest, out ReadOnlySpan<char> part)
    {
        var colon = rest.IndexOf(':');
        if (colon < 0)
        {
            part = default;
            return false;
        }

        part = rest[..colon];
        rest = rest[(colon + 1)..];
        return true;
    }

    /// <summary>Whether a body that <see cref="TryParse"/> read is what a <see cref="Body"/> of <paramref name="bytes"/> reads as.</summary>
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
