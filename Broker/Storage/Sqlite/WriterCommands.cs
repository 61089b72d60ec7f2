using Microsoft.Data.Sqlite;
using WonderQ.Shared.Contracts;

namespace WonderQ.Broker.Storage.Sqlite;

/// <summary>
/// The writer's connection with every statement it runs prepared once, so the hot path (send, claim, delete)
/// binds parameters and steps a compiled statement instead of parsing SQL per request.
/// </summary>
internal sealed class WriterCommands : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly List<SqliteCommand> _all = [];

    public WriterCommands(SqliteConnection connection, string synchronous)
    {
        _connection = connection;
        SyncOnCommit = Prepare($"PRAGMA synchronous = {synchronous}");
        NoSyncOnCommit = Prepare("PRAGMA synchronous = NORMAL");
        Begin = Prepare("BEGIN IMMEDIATE");
        Commit = Prepare("COMMIT");
        Rollback = Prepare("ROLLBACK");
        InsertQueue = Prepare(SqliteSql.InsertQueue, "$name", "$now");
        QueueById = Prepare(SqliteSql.QueueById, "$id");
        QueueByName = Prepare(SqliteSql.QueueByName, "$name");
        QueueByIdAndName = Prepare(SqliteSql.QueueByIdAndName, "$id", "$name");
        DeleteQueueMessages = Prepare(SqliteSql.DeleteQueueMessages, "$queue_id");
        DeleteQueue = Prepare(SqliteSql.DeleteQueue, "$queue_id");
        InsertMessage = Prepare(SqliteSql.InsertMessage, "$queue_id", "$body", "$now");
        SelectClaimable = Prepare(SqliteSql.SelectClaimable, "$queue_id", "$now", "$size");
        Reserve = Prepare(SqliteSql.Reserve, "$until", "$token", "$ids");
        DeleteMessage = Prepare(SqliteSql.DeleteMessage, "$id");
        DeleteReservedMessage = Prepare(SqliteSql.DeleteReservedMessage, "$id", "$token");
        MessageExists = Prepare(SqliteSql.MessageExists, "$id");
    }

    /// <summary>The configured durability: in WAL mode FULL syncs the log on every commit.</summary>
    public SqliteCommand SyncOnCommit { get; }

    /// <summary>WAL with NORMAL: survives a process crash; the log is synced at checkpoints, not at each commit.</summary>
    public SqliteCommand NoSyncOnCommit { get; }

    public SqliteCommand Begin { get; }
    public SqliteCommand Commit { get; }
    public SqliteCommand Rollback { get; }
    public SqliteCommand InsertQueue { get; }
    public SqliteCommand QueueById { get; }
    public SqliteCommand QueueByName { get; }
    public SqliteCommand QueueByIdAndName { get; }
    public SqliteCommand DeleteQueueMessages { get; }
    public SqliteCommand DeleteQueue { get; }
    public SqliteCommand InsertMessage { get; }
    public SqliteCommand SelectClaimable { get; }
    public SqliteCommand Reserve { get; }
    public SqliteCommand DeleteMessage { get; }
    public SqliteCommand DeleteReservedMessage { get; }
    public SqliteCommand MessageExists { get; }

    /// <summary>The queue a reference names, read inside the writer's transaction so it cannot change underneath.</summary>
    public QueueDto? FindQueue(QueueRef queue)
    {
        var command = (queue.Id, queue.Name) switch
        {
            ({ } id, { } name) => With(QueueByIdAndName, id, name),
            ({ } id, null) => With(QueueById, id),
            (null, { } name) => With(QueueByName, name),
            _ => null,
        };
        if (command is null)
        {
            return null;
        }

        using var reader = command.ExecuteReader();
        return reader.Read() ? SqliteRows.Queue(reader) : null;
    }

    public static SqliteCommand With(SqliteCommand command, params object?[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i] ?? DBNull.Value;
        }

        return command;
    }

    public void Dispose()
    {
        foreach (var command in _all)
        {
            command.Dispose();
        }

        _connection.Dispose();
    }

    private SqliteCommand Prepare(string sql, params string[] parameters)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        foreach (var name in parameters)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        _all.Add(command);
        return command;
    }
}
