using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using WonderQ.Shared.Contracts;
using WonderQ.Shared.Validation;
using WonderQ.Shared.Web;

namespace WonderQ.Broker.Storage.Sqlite;

/// <summary>
/// The one writer of the database. Requests hand it their changes through a bounded channel; it commits everything
/// waiting in one transaction with one sync to disk (group commit), then answers each request. Concurrent producers
/// so share commits instead of queueing behind one another or failing with "database is locked".
/// </summary>
internal sealed class SqliteCommitWriter : BackgroundService
{
    private readonly SqliteDatabase _database;
    private readonly QueueActivity _activity;
    private readonly StoreClock _time;
    private readonly ILogger<SqliteCommitWriter> _logger;
    private readonly CommitFailureLog _failures;
    private readonly Channel<WriteOperation> _pending;
    private readonly int _maxBatch;
    private readonly int _maxBatchBytes;
    private readonly string _synchronous;
    private readonly TimeSpan _busyTimeout;
    private readonly Dictionary<long, int> _published = [];
    private readonly List<(long QueueId, int Count)> _unclaimed = [];

    // Deleted queues whose messages are still being removed, oldest first; see Purge.
    private readonly Queue<long> _purges = new();

    /// <summary>Set when a batch with a queue's deletion failed in a way that may have committed it.</summary>
    private bool _purgesUnsure;
    private readonly TimeSpan _purgeInterval;
    private readonly TimeSpan _purgeRetryDelay;
    private long _lastPurge;
    private long _purgeRetryAt;
    private WriterCommands? _commands;
    private Task? _loop;
    private bool? _syncing;
    private TimeSpan _lockWait;

    public SqliteCommitWriter(
        SqliteDatabase database,
        QueueActivity activity,
        StoreClock time,
        IOptions<StorageOptions> options,
        IOptions<OutageOptions> outages,
        IOptions<LimitsOptions> limits,
        ILogger<SqliteCommitWriter> logger)
    {
        _database = database;
        _activity = activity;
        _time = time;
        _logger = logger;
        _failures = new CommitFailureLog(logger, time, outages.Value.LogInterval, database.FilePath);
        _maxBatch = options.Value.Sqlite.MaxBatchOperations;
        _maxBatchBytes = limits.Value.MaxBatchBytes;
        _synchronous = options.Value.Sqlite.Synchronous;
        _busyTimeout = database.BusyTimeout;
        _lockWait = _busyTimeout; // as SqliteDatabase.OpenWriter sets it
        PurgeBatchSize = options.Value.Sqlite.PurgeBatchSize;
        PurgeBatchBytes = options.Value.Sqlite.PurgeBatchBytes;
        _purgeInterval = options.Value.Sqlite.PurgeIntervalUnderLoad;

        // Never sooner than a client is told to retry: a LogInterval of 0 had a failing purge retry, and log it, in a
        // loop that kept a core busy.
        var retryAfter = TimeSpan.FromSeconds(outages.Value.RetryAfterSeconds);
        _purgeRetryDelay = outages.Value.LogInterval > retryAfter ? outages.Value.LogInterval : retryAfter;
        _pending = Channel.CreateBounded<WriteOperation>(new BoundedChannelOptions(options.Value.Sqlite.MaxPendingOperations)
        {
            SingleReader = true,

            // A request's write then wakes the blocked writer thread itself, instead of through a thread-pool work
            // item first: 45 µs less per idle send on the two-core VM (docs/performance.md). What runs inline on the
            // writer thread in turn is only a producer's resumption after waiting for room, which awaits its result.
            AllowSynchronousContinuations = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>How many messages of a deleted queue one transaction removes (Storage:Sqlite:PurgeBatchSize).</summary>
    public int PurgeBatchSize { get; }

    /// <summary>At most how many bytes of their bodies one such transaction removes (Storage:Sqlite:PurgeBatchBytes).</summary>
    public long PurgeBatchBytes { get; }

    public async Task<T> RunAsync<T>(WriteOperation<T> operation)
    {
        operation.Queued = Stopwatch.GetTimestamp();
        try
        {
            await _pending.Writer.WriteAsync(operation, operation.CancellationToken);
        }
        catch (ChannelClosedException)
        {
            throw new StoreUnavailableException("The broker is shutting down. Try again shortly.");
        }

        return await operation.Task;
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // Open before the server takes requests: a broker that cannot own its file must not start at all.
        _commands = _database.OpenWriter(connection =>
        {
            var commands = new WriterCommands(connection, _synchronous);
            try
            {
                ReadWhereItLeftOff(commands);
                return commands;
            }
            catch
            {
                commands.Dispose();
                throw;
            }
        });

        if (_purges.Count > 0)
        {
            _logger.LogInformation("Removing the messages left by {Count} deleted queue(s), a chunk at a time", _purges.Count);
        }

        // On a thread of its own, as each commit blocks on a sync to disk that would otherwise hold a thread-pool thread
        // request handling needs. Started here, not in ExecuteAsync: since .NET 10 the base class runs that through
        // Task.Run with the stopping token, so a host stopped before the pool got to it never ran the loop, which left
        // the connection open, handed-over requests unanswered, and Dispose throwing on the cancelled task.
        _loop = Task.Factory.StartNew(WriteLoop, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        return base.StartAsync(cancellationToken);
    }

    /// <summary>The deleted queues whose messages are still to go, and the latest time stamped, which the clock resumes from.</summary>
    private void ReadWhereItLeftOff(WriterCommands commands)
    {
        ReadPendingPurges(commands);
        using (var run = commands.LatestStamp.With())
        {
            if (run.Read() && !run.IsNull(0))
            {
                _time.NotBefore(DateTimeOffset.FromUnixTimeMilliseconds(run.Int64(0)));
            }
        }
    }

    private void ReadPendingPurges(WriterCommands commands)
    {
        using var run = commands.PendingPurges.With();
        while (run.Read())
        {
            if (!_purges.Contains(run.Int64(0)))
            {
                _purges.Enqueue(run.Int64(0));
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // Take no new work, but commit what requests already handed over: those producers are waiting for a 201.
        _pending.Writer.TryComplete();
        await base.StopAsync(cancellationToken);
        if (_loop is not null)
        {
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>
    /// A host that failed to start after the writer did (its port taken) is disposed without being stopped: ending the
    /// loop here closes the writer's connection rather than leaving its thread waiting for work that never comes. The
    /// loop is waited for (at most as long as a commit may wait on the file) because the database, disposed next,
    /// then lets go of its lock on the file, and on Unix closing that descriptor drops the connection's SQLite locks.
    /// </summary>
    public override void Dispose()
    {
        _pending.Writer.TryComplete();
        if (_loop is not null)
        {
            // WaitAny, not Wait: a loop that failed was reported when it did (BackgroundService stops the host).
            Task.WaitAny([_loop], _busyTimeout);
        }

        base.Dispose();
    }

    /// <summary>The loop StartAsync started, for the base class to report if it fails and stop the host.</summary>
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => _loop!;

    private void WriteLoop()
    {
        // The connection is closed here, on the thread that uses it, once the channel is drained: StopAsync may
        // return earlier (its token can run out), and closing it from there would race a commit in progress.
        using var commands = _commands!;
        var batch = new List<WriteOperation>(_maxBatch);
        var reader = _pending.Reader;
        while (true)
        {
            if (_purges.Count > 0 && !reader.TryPeek(out _) && !reader.Completion.IsCompleted && PurgeMayRun())
            {
                // Nothing waiting: a chunk of a deleted queue's messages, then requests come first again.
                Purge();
                continue;
            }

            if (!WaitForWork(reader))
            {
                break;
            }

            while (batch.Count < _maxBatch && reader.TryRead(out var operation))
            {
                if (operation.CancellationToken.IsCancellationRequested)
                {
                    operation.Cancel();
                }
                else
                {
                    batch.Add(operation);
                }
            }

            if (batch.Count > 0)
            {
                Commit(batch);
                batch.Clear();
            }

            // Requests that never let up still leave a chunk to a purge now and then, or it would never end.
            if (_purges.Count > 0 && _time.GetElapsedTime(_lastPurge) >= _purgeInterval && PurgeMayRun())
            {
                Purge();
            }
        }

        _failures.Flush();
    }

    private void Commit(List<WriteOperation> batch)
    {
        var commands = _commands!;

        // After failures, only a batch that changed rows shows that commits work again: one that changed none (a
        // claim that found nothing) commits even on a full disk.
        var recovering = !_failures.Healthy;
        var changesBefore = recovering ? commands.TotalChanges : 0;
        try
        {
            var sync = batch.Exists(o => o.NeedsSync);
            if (sync && !_database.IsInPlace)
            {
                // A 201 is a promise that the message outlasts a restart, which a deleted file cannot keep.
                throw new DatabaseDeletedException(_database.FilePathWithoutLinks, _database.WalPath);
            }

            SetSync(commands, sync);

            // Storage:Sqlite:BusyTimeout bounds a request's wait on a lock another process holds (a sqlite3 shell's
            // transaction, a VACUUM), counted from when the batch's oldest request reached the writer. Waited out
            // afresh by each batch, a request that came in while the batch before it waited on the lock would wait
            // again for its own, up to twice as long, and one behind MaxBatchOperations others once more for each.
            WaitOnLocks(commands, _busyTimeout - Stopwatch.GetElapsedTime(batch[0].Queued));
            commands.Begin.Execute();
            var now = _time.GetUtcNow();
            foreach (var operation in batch)
            {
                operation.Execute(commands, _activity, now);
            }

            HandOverToParked(batch, commands, now);
            commands.Commit.Execute();
        }
        catch (Exception ex)
        {
            // What went wrong, when SQLite says (a full disk, an I/O error), is what each request is answered.
            var failure = CommitFailure.Of(ex);
            _failures.Failed(failure, ex, batch.Count);
            TryRollback(commands);
            commands.ForgetQueues();
            var unavailable = new StoreUnavailableException(failure.Detail, ex) { MayHaveCommitted = failure.MayHaveCommitted };
            foreach (var operation in batch)
            {
                operation.Fail(unavailable);
            }

            if (failure.MayHaveCommitted)
            {
                LookAgain(batch);

                // A queue's deletion may stand, its purge recorded in queue_purges, and a retry would find the queue
                // gone: the purge is read back after the next commit, or its messages stayed in the file until a restart.
                _purgesUnsure |= batch.Any(operation => operation is DeleteQueueOperation);
            }

            return;
        }

        if (recovering)
        {
            // A claim or delete still commits into a deleted file, which is no sign that commits work again.
            _failures.Succeeded(wrote: commands.TotalChanges != changesBefore && _database.IsInPlace);
        }

        GiveBackRanOutClaims(batch);

        // Committed: what the answers and wake-ups set off is no reason for this thread, which every write needs, to end.
        foreach (var operation in batch)
        {
            if (operation is DeleteQueueOperation { PurgeLeft: { } purge })
            {
                _purges.Enqueue(purge);
            }

            try
            {
                operation.Complete(_activity);
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, "Answering a committed {Operation} failed", operation.GetType().Name);
            }
        }

        if (_purgesUnsure)
        {
            try
            {
                ReadPendingPurges(commands);
                _purgesUnsure = false;
            }
            catch (SqliteException)
            {
                // Read again after the next commit.
            }
        }

        foreach (var (queueId, count) in _unclaimed)
        {
            WakeConsumers(queueId, count);
        }
    }

    /// <summary>
    /// Claims what this batch published for consumers parked on those queues, in the same transaction: each is
    /// answered by this commit instead of waking to send a claim of its own through the writer. What is left
    /// unclaimed is announced after the commit, to wake the rest.
    /// </summary>
    private void HandOverToParked(List<WriteOperation> batch, WriterCommands commands, DateTimeOffset now)
    {
        _published.Clear();
        _unclaimed.Clear();
        foreach (var operation in batch)
        {
            if (operation is SendOperation { Sent: { } sent })
            {
                CollectionsMarshal.GetValueRefOrAddDefault(_published, sent.QueueId, out _)++;
            }
        }

        foreach (var (queueId, count) in _published)
        {
            // Every consumer taken gets its claim before any claim runs: one that throws fails the whole batch, and
            // a consumer taken but not yet handed its claim could then never be answered (taken, it no longer times out).
            var first = batch.Count;
            foreach (var consumer in _activity.Parked?.Take(queueId, count) ?? [])
            {
                var claim = new ClaimOperation(QueueRef.ById(queueId), consumer.Size, _maxBatchBytes, consumer.VisibilityTimeout, CancellationToken.None);
                consumer.HandOver(claim.Task);
                batch.Add(claim);
            }

            var claimed = 0;
            for (var i = first; i < batch.Count; i++)
            {
                var claim = (ClaimOperation)batch[i];
                claim.Execute(commands, _activity, now);
                claimed += claim.Claimed;
            }

            if (claimed < count)
            {
                _unclaimed.Add((queueId, count - claimed));
            }
        }
    }

    /// <summary>
    /// After a batch that may have committed all the same (an I/O error on its sync): the consumers of every queue it
    /// sent to or claimed from look again, as after the PostgreSQL store's unknown outcomes. Sent messages would otherwise
    /// wait for the next change on their queue while its consumers slept, and claimed ones for a poll to find them
    /// expired. A needless look costs a claim.
    /// </summary>
    private void LookAgain(List<WriteOperation> batch)
    {
        _published.Clear();
        foreach (var operation in batch)
        {
            var (queueId, count) = operation switch
            {
                SendOperation { Sent: { } sent } => (sent.QueueId, 1),
                ClaimOperation { Claim: { Messages.Count: > 0 } claim } => (claim.QueueId, claim.Messages.Count),
                _ => (0L, 0),
            };
            if (count > 0)
            {
                CollectionsMarshal.GetValueRefOrAddDefault(_published, queueId, out _) += count;
            }
        }

        foreach (var (queueId, count) in _published)
        {
            WakeConsumers(queueId, count);
        }
    }

    private void WakeConsumers(long queueId, int count)
    {
        try
        {
            _activity.OnPublished(queueId, count);
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Waking the consumers of queue {QueueId} failed", queueId);
        }
    }

    /// <summary>
    /// A claim whose commit took longer than its visibility timeout (a sync held up by the disk, a checkpoint, a pause
    /// of this thread) is answered empty, as the PostgreSQL store does: its consumer, if it waits, looks again, and its
    /// messages are announced with what this batch left unclaimed, to wake a consumer for them.
    /// </summary>
    private void GiveBackRanOutClaims(List<WriteOperation> batch)
    {
        DateTimeOffset? committedAt = null;
        foreach (var operation in batch)
        {
            if (operation is ClaimOperation { Claimed: > 0 } claim)
            {
                committedAt ??= _time.GetUtcNow();
                if (claim.GiveBackIfRanOut(committedAt.Value) is { } givenBack)
                {
                    _unclaimed.Add(givenBack);
                }
            }
        }
    }

    /// <summary>
    /// Waits for a request, false once there will be none. A purge waiting out a failure ends the wait when its retry
    /// is due: an idle writer otherwise left it, and the log's "trying again in", until the next request came.
    /// </summary>
    private bool WaitForWork(ChannelReader<WriteOperation> reader)
    {
        CancellationTokenSource? retry = null;
        if (_purges.Count > 0 && _purgeRetryAt != 0)
        {
            // Due already when requests kept the writer past it: a negative delay would throw, and end the writer.
            var due = _time.GetElapsedTime(_time.GetTimestamp(), _purgeRetryAt);
            retry = new CancellationTokenSource(due > TimeSpan.Zero ? due : TimeSpan.Zero, _time);
        }

        using (retry)
        {
            try
            {
                return reader.WaitToReadAsync(retry?.Token ?? CancellationToken.None).AsTask().GetAwaiter().GetResult();
            }
            catch (OperationCanceledException)
            {
                return true;
            }
        }
    }

    private bool PurgeMayRun() => _purgeRetryAt == 0 || _time.GetTimestamp() >= _purgeRetryAt;

    /// <summary>
    /// Removes one chunk of the oldest deleted queue's messages, in a transaction of its own and without a sync: what a
    /// crash undoes is done again at the next start, from the queue's row in queue_purges, which was synced with its
    /// deletion. No request can reach those messages meanwhile (SqliteSql.DeleteMessage), so only the file's space
    /// waits for them. After a failure (a full disk, say) purging pauses for Outages:LogInterval (at least
    /// Outages:RetryAfterSeconds), and then takes up the next deleted queue's.
    /// </summary>
    private void Purge()
    {
        var commands = _commands!;
        var queueId = _purges.Peek();
        _lastPurge = _time.GetTimestamp();
        try
        {
            SetSync(commands, false);
            WaitOnLocks(commands, _busyTimeout);
            commands.Begin.Execute();
            var done = commands.PurgeChunk(queueId, PurgeBatchSize, PurgeBatchBytes);
            if (done)
            {
                commands.DeletePurge.Execute(queueId);
            }

            commands.Commit.Execute();
            _purgeRetryAt = 0;
            if (done)
            {
                _purges.Dequeue();
                _logger.LogInformation("Removed the last messages of deleted queue {QueueId}", queueId);
            }
        }
        catch (Exception ex)
        {
            TryRollback(commands);

            // The stack trace with the first failure only, as for requests (CommitFailureLog): a disk that stays full
            // fails every retry, and logged whole each time it filled the log with copies of one trace.
            var first = _purgeRetryAt == 0;
            _purgeRetryAt = _time.GetTimestamp() + (long)(_purgeRetryDelay.TotalSeconds * _time.TimestampFrequency);

            // To the back, so that a queue whose purge keeps failing on its own (a damaged page of its messages) does
            // not hold up the purges of the queues deleted after it.
            _purges.Enqueue(_purges.Dequeue());
            _logger.LogWarning(
                first ? ex : null,
                "Removing the messages of deleted queue {QueueId} failed ({Reason}); trying again in {Delay}",
                queueId,
                ex.Message,
                _purgeRetryDelay);
        }
    }

    /// <summary>Switches between syncing and not only when the kind of batch changes; outside a transaction, as SQLite requires.</summary>
    private void SetSync(WriterCommands commands, bool sync)
    {
        if (_syncing != sync)
        {
            commands.SyncCommits(sync);
            _syncing = sync;
        }
    }

    /// <summary>Sets how long the next transaction waits on another connection's lock, only when that changes; never less than nothing.</summary>
    private void WaitOnLocks(WriterCommands commands, TimeSpan wait)
    {
        // Whole milliseconds, as SQLite takes them: a batch whose oldest request waited less than one changes nothing.
        wait = wait > TimeSpan.Zero ? TimeSpan.FromMilliseconds(Math.Ceiling(wait.TotalMilliseconds)) : TimeSpan.Zero;
        if (wait != _lockWait)
        {
            commands.WaitOnLocks(wait);
            _lockWait = wait;
        }
    }

    private void TryRollback(WriterCommands commands)
    {
        try
        {
            commands.Rollback.Execute();
        }
        catch (Exception ex)
        {
            // No transaction open (BEGIN itself failed) is the usual cause; nothing is left to undo.
            _logger.LogDebug(ex, "Rollback after a failed batch did not run");
        }
    }
}
