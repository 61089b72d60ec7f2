using System.Threading.Channels;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;

namespace WonderQ.Broker.Storage.Postgres;

/// <summary>
/// Group commit for sends, as the SQLite store's writer does it: the sends of the moment go in as one statement, one
/// transaction and one sync, while the next ones gather. One statement a send kept PostgreSQL's processes switching and
/// committing: 3,300–3,700 sends/s from 64 producers on two cores (docs/performance.md).
/// </summary>
internal sealed class PostgresSends(PostgresDatabase database, IOptions<StorageOptions> options)
{
    private readonly Channel<Send> _pending = Channel.CreateUnbounded<Send>(new UnboundedChannelOptions { SingleReader = true });
    private readonly int _maxBatch = options.Value.Postgres.MaxBatchSends;
    private readonly long _maxBatchBytes = options.Value.Postgres.MaxBatchSendBytes;
    private int _draining;

    /// <summary>The new message's id once committed; null when there is no such queue. Not cancelled once asked.</summary>
    public Task<long?> InsertAsync(long queueId, byte[] body, long now)
    {
        var send = new Send(queueId, body, now);
        _pending.Writer.TryWrite(send);
        if (Interlocked.CompareExchange(ref _draining, 1, 0) == 0)
        {
            _ = Task.Run(DrainAsync);
        }

        return send.Result.Task;
    }

    /// <summary>Runs batches while sends wait, then stops; the next send starts it again.</summary>
    private async Task DrainAsync()
    {
        var batch = new List<Send>(_maxBatch);
        while (true)
        {
            batch.Clear();
            var bytes = 0L;

            // The bodies go as one parameter, which PostgreSQL takes up to 1 GB: a few large messages fill a batch.
            while (batch.Count < _maxBatch
                && _pending.Reader.TryPeek(out var next)
                && (batch.Count == 0 || bytes + next.Body.Length <= _maxBatchBytes)
                && _pending.Reader.TryRead(out var send))
            {
                batch.Add(send);
                bytes += send.Body.Length;
            }

            if (batch.Count == 0)
            {
                // A full fence between clearing the flag and looking again (a write alone would let the look go first).
                Interlocked.Exchange(ref _draining, 0);

                // A send written after the last read and before the flag fell would wait for the next one: look again.
                if (_pending.Reader.TryPeek(out _) && Interlocked.CompareExchange(ref _draining, 1, 0) == 0)
                {
                    continue;
                }

                return;
            }

            await RunAsync(batch);
        }
    }

    private async Task RunAsync(List<Send> batch)
    {
        try
        {
            await using var connection = await database.DataSource.OpenConnectionAsync();
            long?[] ids;
            try
            {
                ids = await InsertAsync(connection, batch);
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.ForeignKeyViolation)
            {
                // A queue deleted as the batch went in fails it whole: each send on its own, so only that queue's are
                // refused, and each answered as it commits (a failure further on must not fail one already stored).
                ids = new long?[batch.Count];
                for (var i = 0; i < batch.Count; i++)
                {
                    try
                    {
                        ids[i] = (await InsertAsync(connection, [batch[i]]))[0];
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
                batch[i].Result.TrySetResult(ids[i]);
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

    private static async Task<long?[]> InsertAsync(NpgsqlConnection connection, List<Send> batch)
    {
        var rows = await connection.QueryAsync<(long N, long Id)>(
            PostgresSql.InsertMessages,
            new
            {
                queue_ids = batch.Select(s => s.QueueId).ToArray(),
                bodies = batch.Select(s => s.Body).ToArray(),
                nows = batch.Select(s => s.Now).ToArray(),
            });
        var ids = new long?[batch.Count];
        foreach (var (n, id) in rows)
        {
            ids[n - 1] = id;
        }

        return ids;
    }

    private sealed record Send(long QueueId, byte[] Body, long Now)
    {
        // Completed off the batch's thread, so the next batch does not wait for the requests' continuations.
        public TaskCompletionSource<long?> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
