using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using SQLitePCL;
using WonderQ.Shared.Contracts;
using WonderQ.Shared.Validation;
using WonderQ.Shared.Web;

namespace WonderQ.Broker.Storage.Sqlite;

/// <summary>
/// <see cref="IMessageStore"/> on one SQLite file. Changes go through the <see cref="SqliteCommitWriter"/>;
/// reads run on pooled connections of their own beside it.
/// </summary>
internal sealed class SqliteMessageStore(
    SqliteDatabase database,
    SqliteCommitWriter writer,
    QueueActivity activity,
    StoreClock time,
    IOptions<OutageOptions> outages,
    IOptions<LimitsOptions> limits,
    ILogger<SqliteMessageStore> logger) : IMessageStore
{
    private readonly LogThrottle _failureLog = new(time, outages.Value.LogInterval);
    private readonly int _maxBatchBytes = limits.Value.MaxBatchBytes;

    public QueueActivity Activity => activity;

    public Task<CreateQueueResult> CreateQueueAsync(string name, int maxQueues, CancellationToken cancellationToken) =>
        writer.RunAsync(new CreateQueueOperation(name, maxQueues, cancellationToken));

    public async Task<QueueDto?> FindQueueAsync(QueueRef queue, CancellationToken cancellationToken)
    {
        var sql = (queue.Id, queue.Name) switch
        {
            (not null, not null) => SqliteSql.QueueByIdAndName,
            (not null, null) => SqliteSql.QueueById,
            (null, not null) => SqliteSql.QueueByName,
            _ => null,
        };
        if (sql is null)
        {
            return null;
        }

        var row = await ReadAsync(
            connection => connection.QuerySingleOrDefaultAsync<StoreRows.QueueRow>(
                new CommandDefinition(sql, new { id = queue.Id, name = queue.Name }, cancellationToken: cancellationToken)),
            cancellationToken);
        return row?.ToDto();
    }

    public Task<IReadOnlyList<QueueCounts>> ListQueuesAsync(CancellationToken cancellationToken) => ReadAsync<IReadOnlyList<QueueCounts>>(
        async connection =>
        {
            // The clock is read once the snapshot is taken: read before it, a send committed in between would carry a
            // later time than "now" and be counted as in flight.
            await using var snapshot = connection.BeginTransaction(deferred: true);
            await connection.ExecuteAsync(new CommandDefinition(SqliteSql.TakeSnapshot, transaction: snapshot, cancellationToken: cancellationToken));
            var rows = await connection.QueryAsync<StoreRows.QueueCountsRow>(
                new CommandDefinition(SqliteSql.ListQueues, new { now = Now() }, snapshot, cancellationToken: cancellationToken));
            return rows.Select(r => r.ToDto()).ToList();
        },
        cancellationToken);

    public Task<bool> DeleteQueueAsync(QueueRef queue, CancellationToken cancellationToken) =>
        writer.RunAsync(new DeleteQueueOperation(queue, writer.PurgeBatchSize, writer.PurgeBatchBytes, cancellationToken));

    public Task<IReadOnlyList<MessageDto>?> PeekAsync(QueueRef queue, int size, CancellationToken cancellationToken) =>
        PeekAsync<SqliteRows.MessageRow, MessageDto>(queue, SqliteSql.Peek, size, r => r.ToDto(), cancellationToken);

    public Task<IReadOnlyList<MessageVersion>?> PeekVersionsAsync(QueueRef queue, int size, CancellationToken cancellationToken) =>
        PeekAsync<StoreRows.MessageVersionRow, MessageVersion>(queue, SqliteSql.PeekVersions, size, r => r.ToVersion(), cancellationToken);

    public Task<SentMessage?> SendAsync(QueueRef queue, string body, CancellationToken cancellationToken) =>
        writer.RunAsync(new SendOperation(queue, body, cancellationToken));

    public Task<ClaimResult?> ClaimAsync(QueueRef queue, int size, TimeSpan visibilityTimeout, bool mayPark, CancellationToken cancellationToken) =>
        writer.RunAsync(new ClaimOperation(queue, size, _maxBatchBytes, visibilityTimeout, cancellationToken) { MayPark = mayPark });

    public Task<DeleteMessageResult> DeleteMessageAsync(long id, string? reservationToken, CancellationToken cancellationToken) =>
        writer.RunAsync(new DeleteMessageOperation(id, reservationToken, cancellationToken));

    public async Task<DateTimeOffset?> NextExpiryAsync(long queueId, DateTimeOffset after, CancellationToken cancellationToken)
    {
        var next = await ReadAsync(
            connection => connection.ExecuteScalarAsync<long?>(
                new CommandDefinition(SqliteSql.NextExpiry, new { queue_id = queueId, after = SqliteRows.Millis(after) }, cancellationToken: cancellationToken)),
            cancellationToken);
        return next is { } ms ? SqliteRows.Time(ms) : null;
    }

    public async Task<string?> PingAsync(CancellationToken cancellationToken)
    {
        // First: a pooled connection still reads a deleted file, whose writes are refused (SqliteCommitWriter), and a new
        // one fails as if the store did not answer.
        if (!database.IsInPlace)
        {
            return CommitFailure.DatabaseDeleted;
        }

        try
        {
            await using var connection = await database.OpenReaderAsync(cancellationToken);
            await connection.ExecuteScalarAsync<long>(new CommandDefinition(SqliteSql.Ping, cancellationToken: cancellationToken));
            return null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return "The message store does not answer.";
        }
    }

    private long Now() => SqliteRows.Millis(time.GetUtcNow());

    /// <summary>A queue's oldest messages as <paramref name="sql"/> reads them; null when there is no such queue.</summary>
    private async Task<IReadOnlyList<T>?> PeekAsync<TRow, T>(
        QueueRef queue, string sql, int size, Func<TRow, T> map, CancellationToken cancellationToken)
    {
        if (await FindQueueAsync(queue, cancellationToken) is not { } found)
        {
            return null;
        }

        var rows = await ReadAsync(
            connection => connection.QueryAsync<TRow>(
                new CommandDefinition(sql, new { queue_id = found.Id, size, max_bytes = _maxBatchBytes }, cancellationToken: cancellationToken)),
            cancellationToken);
        return rows.Select(map).ToList();
    }

    /// <summary>
    /// Runs a read on a reader connection. A read SQLite fails (a disk that fails to read; the file deleted, found by a
    /// reader the pool opens anew) is answered as a failed write is, 503 with what is known of the cause, which a
    /// client retries; a 500 would say the broker is broken. SQLite's own error is logged with the first failure and
    /// then at most once per Outages:LogInterval, with a count of the rest: a dashboard polls every second.
    /// </summary>
    private async Task<T> ReadAsync<T>(Func<SqliteConnection, Task<T>> read, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await database.OpenReaderAsync(cancellationToken);
            return await read(connection);
        }
        // Not SQLITE_ERROR, SQL that SQLite refuses: a bug of the broker's (or a file whose schema is not its own) rather
        // than an outage. It stays a 500: a 503 would have every client retry what cannot succeed.
        catch (SqliteException ex) when (ex.SqliteErrorCode != raw.SQLITE_ERROR)
        {
            var detail = database.IsInPlace ? CommitFailure.Of(ex).Detail : CommitFailure.DatabaseDeleted;
            LogReadFailure(ex);
            throw new StoreUnavailableException(detail, ex);
        }
    }

    private void LogReadFailure(SqliteException exception)
    {
        if (!_failureLog.ShouldLog(out var unlogged, out var spell))
        {
            return;
        }

        // The stack trace once a spell of failures, as for writes (CommitFailureLog): a disk that stays broken fails
        // every read, and one trace says all the copies would. The count goes with it too: the failures counted at the
        // end of the last spell are said nowhere else.
        logger.LogError(
            spell ? exception : null,
            "A read of the message store failed: {Reason}{Repeats}",
            exception.Message,
            LogThrottle.Repeats(unlogged, "failure", "failures"));
    }
}
