using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;

namespace WonderQ.Broker.Storage.Postgres;

/// <summary>
/// Group commit for sends, as the SQLite store's writer does it: the sends of the moment go in as one statement, one
/// transaction and one sync, while the next ones gather. One statement a send kept PostgreSQL's processes switching and
/// committing: 3,300–3,700 sends/s from 64 producers on two cores (docs/performance-journal.md, 2026-12-03). A batch's
/// messages are stamped once it has its connection, as the SQLite writer stamps its batch once it holds the write lock: a
/// send stamped as it arrived and then kept waiting (for a batch under way, a pool with no connection free) lay behind its
/// <c>201</c>, its <c>created_at</c> behind one given a lower id, and a consume took them out of their ids' order.
/// </summary>
internal sealed class PostgresSends
{
    private readonly PostgresDatabase _database;
    private readonly StoreClock _time;
    private readonly GroupCommit<Send> _batches;

    public PostgresSends(PostgresDatabase database, StoreClock time, IOptions<StorageOptions> options)
    {
        _database = database;
        _time = time;

        // The bodies go as one parameter, which PostgreSQL takes up to 1 GB: a few large messages fill a batch.
        var postgres = options.Value.Postgres;
        _batches = new GroupCommit<Send>(RunAsync, postgres.MaxBatchSends, postgres.MaxBatchSendBytes, s => s.Body.Length);
    }

    /// <summary>The new message's id once committed; null when there is no such queue. Not cancelled once asked.</summary>
    public Task<long?> InsertAsync(long queueId, byte[] body)
    {
        var send = new Send(queueId, body);
        _batches.Add(send);
        return send.Result.Task;
    }

    private async Task RunAsync(List<Send> batch)
    {
        try
        {
            await using var connection = await _database.OpenAsync();
            var now = Now();
            long?[] ids;
            var passedBy = true;
            try
            {
                ids = await InsertAsync(connection, batch, now);
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.ForeignKeyViolation)
            {
                // Should a queue's deletion still fail the batch whole on the foreign key (the statement's lock on the
                // queue rows keeps one under way from committing under it): each send on its own, so only that queue's
                // are refused, and each answered as it commits (a failure further on must not fail one already stored).
                passedBy = false;
                ids = new long?[batch.Count];
                for (var i = 0; i < batch.Count; i++)
                {
                    try
                    {
                        ids[i] = (await InsertAsync(connection, [batch[i]], now))[0];
                    }
                    catch (PostgresException one) when (one.SqlState == PostgresErrorCodes.ForeignKeyViolation)
                    {
                        ids[i] = null;
                    }

                    batch[i].Result.TrySetResult(ids[i]);
                }
            }

            for (var i = 0; i < batch.Count; i++)
            {
                if (ids[i] is null && passedBy)
                {
                    _ = InsertAloneAsync(batch[i]);
                }
                else
                {
                    batch[i].Result.TrySetResult(ids[i]);
                }
            }
        }
        catch (Exception ex)
        {
            foreach (var send in batch)
            {
                send.Result.TrySetException(ex);
            }
        }
    }

    /// <summary>
    /// A send the batch passed by: to no such queue, or to one whose deletion holds its row (a large queue's takes
    /// seconds), which it waits for alone, to be stored or find the queue gone.
    /// </summary>
    private async Task InsertAloneAsync(Send send)
    {
        await _database.LoneWaits.WaitAsync();
        try
        {
            await using var connection = await _database.OpenAsync();
            send.Result.TrySetResult(await connection.ExecuteScalarAsync<long?>(
                PostgresSql.InsertMessage, new { queue_id = send.QueueId, body = send.Body, now = Now() }));
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            send.Result.TrySetResult(null);
        }
        catch (Exception ex)
        {
            send.Result.TrySetException(ex);
        }
        finally
        {
            _database.LoneWaits.Release();
        }
    }

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private static async Task<long?[]> InsertAsync(NpgsqlConnection connection, List<Send> batch, long now)
    {
        var rows = await connection.QueryAsync<(long N, long Id)>(
            PostgresSql.InsertMessages,
            new
            {
                queue_ids = batch.Select(s => s.QueueId).ToArray(),
                bodies = batch.Select(s => s.Body).ToArray(),
                now,
            });
        var ids = new long?[batch.Count];
        foreach (var (n, id) in rows)
        {
            ids[n - 1] = id;
        }

        return ids;
    }

    private sealed record Send(long QueueId, byte[] Body)
    {
        // Completed off the batch's thread, so the next batch does not wait for the requests' continuations.
        public TaskCompletionSource<long?> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
