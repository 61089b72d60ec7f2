using Microsoft.Data.Sqlite;
using SQLitePCL;
using WonderQ.Shared.Contracts;

namespace WonderQ.Broker.Storage.Sqlite;

/// <summary>
/// The writer's connection with every statement it runs prepared once, so the hot path (send, claim, delete)
/// binds parameters and steps a compiled statement instead of parsing SQL per request.
/// </summary>
internal sealed class WriterCommands : IDisposable
{
    private const string NoSyncOnCommit = "PRAGMA synchronous = NORMAL;";

    private readonly SqliteConnection _connection;
    private readonly string _syncOnCommit;
    private readonly List<WriterStatement> _all = [];
    private readonly Dictionary<long, QueueDto> _queuesById = [];
    private readonly Dictionary<string, QueueDto> _queuesByName = new(StringComparer.Ordinal);
    private readonly WriterStatement _countQueues;
    private long? _queueCount;

    public WriterCommands(SqliteConnection connection, string synchronous)
    {
        _connection = connection;
        _syncOnCommit = $"PRAGMA synchronous = {synchronous};";
        Begin = Prepare("BEGIN IMMEDIATE");
        Commit = Prepare("COMMIT");
        Rollback = Prepare("ROLLBACK");
        InsertQueue = Prepare(SqliteSql.InsertQueue, "$name", "$now");
        _countQueues = Prepare(SqliteSql.CountQueues);
        QueueById = Prepare(SqliteSql.QueueById, "$id");
        QueueByName = Prepare(SqliteSql.QueueByName, "$name");
        DeleteQueue = Prepare(SqliteSql.DeleteQueue, "$queue_id");
        SelectPurgeChunk = Prepare(SqliteSql.SelectPurgeChunk, "$queue_id", "$limit");
        DeleteMessages = Prepare(SqliteSql.DeleteMessages, "$ids");
        InsertPurge = Prepare(SqliteSql.InsertPurge, "$queue_id");
        DeletePurge = Prepare(SqliteSql.DeletePurge, "$queue_id");
        PendingPurges = Prepare(SqliteSql.PendingPurges);
        LatestStamp = Prepare(SqliteSql.LatestStamp);
        InsertMessage = Prepare(SqliteSql.InsertMessage, "$queue_id", "$body", "$now");
        SelectClaimable = Prepare(SqliteSql.SelectClaimable, "$queue_id", "$now", "$size");
        Reserve = Prepare(SqliteSql.Reserve, "$until", "$token", "$ids");
        DeleteMessage = Prepare(SqliteSql.DeleteMessage, "$id");
        DeleteReservedMessage = Prepare(SqliteSql.DeleteReservedMessage, "$id", "$token");
        MessageExists = Prepare(SqliteSql.MessageExists, "$id");
        NextExpiry = Prepare(SqliteSql.NextExpiry, "$queue_id", "$after");
    }

    /// <summary>
    /// Whether the next commits sync: the configured durability (in WAL mode FULL syncs the log on every commit), or
    /// NORMAL, which survives a process crash and syncs the log at checkpoints only. Parsed afresh each time, never
    /// kept as a prepared statement: SQLite applies this pragma while it compiles it, not when it runs it, so a
    /// compiled one changed nothing the first time it ran, and the two compiled at start left the connection at
    /// NORMAL. A fresh broker's first sends were then answered 201 without a sync, until its first consume or delete.
    /// </summary>
    public void SyncCommits(bool sync)
    {
        var db = _connection.Handle!;
        var rc = raw.sqlite3_exec(db, sync ? _syncOnCommit : NoSyncOnCommit);
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, db);
        }
    }

    /// <summary>How long the next statements wait on a lock another connection holds before they fail with SQLITE_BUSY.</summary>
    public void WaitOnLocks(TimeSpan wait) => raw.sqlite3_busy_timeout(_connection.Handle!, (int)wait.TotalMilliseconds);

    /// <summary>Rows this connection has inserted, updated or deleted since it opened (wrapping past int.MaxValue).</summary>
    public int TotalChanges => raw.sqlite3_total_changes(_connection.Handle!);

    public WriterStatement Begin { get; }
    public WriterStatement Commit { get; }
    public WriterStatement Rollback { get; }
    public WriterStatement InsertQueue { get; }
    public WriterStatement QueueById { get; }
    public WriterStatement QueueByName { get; }
    public WriterStatement DeleteQueue { get; }
    public WriterStatement SelectPurgeChunk { get; }
    public WriterStatement DeleteMessages { get; }
    public WriterStatement InsertPurge { get; }
    public WriterStatement DeletePurge { get; }
    public WriterStatement PendingPurges { get; }
    public WriterStatement LatestStamp { get; }
    public WriterStatement InsertMessage { get; }
    public WriterStatement SelectClaimable { get; }
    public WriterStatement Reserve { get; }
    public WriterStatement DeleteMessage { get; }
    public WriterStatement DeleteReservedMessage { get; }
    public WriterStatement MessageExists { get; }
    public WriterStatement NextExpiry { get; }

    /// <summary>
    /// The queue a reference names. Only this connection creates and deletes queues, so it remembers the ones it has
    /// seen and a send or a claim skips the lookup statement; <see cref="ForgetQueues"/> after a batch rolls back.
    /// </summary>
    public QueueDto? FindQueue(QueueRef queue)
    {
        var found = queue.Id is { } id ? QueueWithId(id) : queue.Name is { } name ? QueueNamed(name) : null;
        return found is not null && (queue.Name is null || queue.Name == found.Name) ? found : null;
    }

    /// <summary>
    /// How many queues there are, counted once and then kept as this connection creates and deletes them: a count
    /// reads every row of the name index, 35 ms at a million queues, which each create would hold the writer for.
    /// </summary>
    public long CountQueues()
    {
        if (_queueCount is null)
        {
            using var run = _countQueues.With();
            _queueCount = run.Read() ? run.Int64(0) : 0;
        }

        return _queueCount.Value;
    }

    public void RememberQueue(QueueDto queue)
    {
        _queuesById[queue.Id] = queue;
        _queuesByName[queue.Name] = queue;
    }

    public void QueueCreated(QueueDto queue)
    {
        RememberQueue(queue);
        _queueCount++;
    }

    public void QueueDeleted(QueueDto queue)
    {
        _queuesById.Remove(queue.Id);
        _queuesByName.Remove(queue.Name);
        _queueCount--;
    }

    public void ForgetQueues()
    {
        _queuesById.Clear();
        _queuesByName.Clear();
        _queueCount = null;
    }

    /// <summary>
    /// Removes the next chunk of a deleted queue's messages: at most <paramref name="limit"/> of them, and once the first
    /// is in, no more bodies than <paramref name="maxBytes"/>. A body over a page long is a chain of pages that its
    /// delete reads one by one, so a count alone let a chunk of large messages hold the writer for seconds.
    /// </summary>
    /// <returns>Whether the queue has no message left.</returns>
    public bool PurgeChunk(long queueId, int limit, long maxBytes)
    {
        var ids = new List<long>(limit);
        var bytes = 0L;
        var cut = false;
        using (var run = SelectPurgeChunk.With(queueId, limit))
        {
            while (run.Read())
            {
                bytes += run.Int64(1);
                if (ids.Count > 0 && bytes > maxBytes)
                {
                    cut = true;
                    break;
                }

                ids.Add(run.Int64(0));
            }
        }

        if (ids.Count > 0)
        {
            DeleteMessages.Execute(SqliteRows.IdList(ids));
        }

        return !cut && ids.Count < limit;
    }

    private QueueDto? QueueWithId(long id) =>
        _queuesById.TryGetValue(id, out var queue) ? queue : ReadQueue(QueueById, id);

    private QueueDto? QueueNamed(string name) =>
        _queuesByName.TryGetValue(name, out var queue) ? queue : ReadQueue(QueueByName, name);

    private QueueDto? ReadQueue(WriterStatement lookup, WriterStatement.Value key)
    {
        using var run = lookup.With(key);
        if (!run.Read())
        {
            return null;
        }

        var queue = SqliteRows.Queue(run);
        RememberQueue(queue);
        return queue;
    }

    public void Dispose()
    {
        foreach (var statement in _all)
        {
            statement.Dispose();
        }

        _connection.Dispose();
    }

    private WriterStatement Prepare(string sql, params string[] parameters)
    {
        var statement = new WriterStatement(_connection.Handle!, sql, parameters);
        _all.Add(statement);
        return statement;
    }
}
