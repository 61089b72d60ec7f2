using Dapper;
using WonderQ.Shared.Contracts;

namespace WonderQ.Broker.Storage.Sqlite;

/// <summary>
/// <see cref="IMessageStore"/> on one SQLite file. Changes go through the <see cref="SqliteCommitWriter"/>;
/// reads run on pooled connections of their own beside it.
/// </summary>
internal sealed class SqliteMessageStore(
    SqliteDatabase database,
    SqliteCommitWriter writer,
    QueueActivity activity,
    TimeProvider time) : IMessageStore
{
    public QueueActivity Activity => activity;

    public Task<QueueDto?> CreateQueueAsync(string name, CancellationToken cancellationToken) =>
        writer.RunAsync(new CreateQueueOperation(name, cancellationToken));

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

        await using var connection = await database.OpenReaderAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<SqliteRows.QueueRow>(
            new CommandDefinition(sql, new { id = queue.Id, name = queue.Name }, cancellationToken: cancellationToken));
        return row?.ToDto();
    }

    public async Task<IReadOnlyList<QueueCounts>> ListQueuesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenReaderAsync(cancellationToken);
        // The clock is read once the snapshot is taken: read before it, a send committed in between would carry a
        // later time than "now" and be counted as in flight.
        await using var snapshot = connection.BeginTransaction(deferred: true);
        await connection.ExecuteAsync(new CommandDefinition(SqliteSql.TakeSnapshot, transaction: snapshot, cancellationToken: cancellationToken));
        var rows = await connection.QueryAsync<SqliteRows.QueueCountsRow>(
            new CommandDefinition(SqliteSql.ListQueues, new { now = Now() }, snapshot, cancellationToken: cancellationToken));
        return rows.Select(r => r.ToDto()).ToList();
    }

    public Task<bool> DeleteQueueAsync(QueueRef queue, CancellationToken cancellationToken) =>
        writer.RunAsync(new DeleteQueueOperation(queue, writer.PurgeBatchSize, writer.PurgeBatchBytes, cancellationToken));

    public Task<IReadOnlyList<MessageDto>?> PeekAsync(QueueRef queue, int size, CancellationToken cancellationToken) =>
        PeekAsync<SqliteRows.MessageRow, MessageDto>(queue, SqliteSql.Peek, size, r => r.ToDto(), cancellationToken);

    public Task<IReadOnlyList<MessageVersion>?> PeekVersionsAsync(QueueRef queue, int size, CancellationToken cancellationToken) =>
        PeekAsync<SqliteRows.MessageVersionRow, MessageVersion>(queue, SqliteSql.PeekVersions, size, r => r.ToVersion(), cancellationToken);

    public Task<SentMessage?> SendAsync(QueueRef queue, string body, CancellationToken cancellationToken) =>
        writer.RunAsync(new SendOperation(queue, body, cancellationToken));

    public Task<ClaimResult?> ClaimAsync(QueueRef queue, int size, TimeSpan visibilityTimeout, bool mayPark, CancellationToken cancellationToken) =>
        writer.RunAsync(new ClaimOperation(queue, size, visibilityTimeout, cancellationToken) { MayPark = mayPark });

    public Task<DeleteMessageResult> DeleteMessageAsync(long id, string? reservationToken, CancellationToken cancellationToken) =>
        writer.RunAsync(new DeleteMessageOperation(id, reservationToken, cancellationToken));

    public async Task<DateTimeOffset?> NextExpiryAsync(long queueId, DateTimeOffset after, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenReaderAsync(cancellationToken);
        var next = await connection.ExecuteScalarAsync<long?>(
            new CommandDefinition(SqliteSql.NextExpiry, new { queue_id = queueId, after = SqliteRows.Millis(after) }, cancellationToken: cancellationToken));
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

        await using var connection = await database.OpenReaderAsync(cancellationToken);
        var rows = await connection.QueryAsync<TRow>(
            new CommandDefinition(sql, new { queue_id = found.Id, size }, cancellationToken: cancellationToken));
        return rows.Select(map).ToList();
    }
}
