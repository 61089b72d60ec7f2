using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;

namespace WonderQ.Broker.Storage.Postgres;

/// <summary>
/// Group commit for deletes, as <see cref="PostgresSends"/> for sends: a consumer deletes every message it has handled,
/// so a steady flow has a delete for each send, and one statement and one transaction each kept the server's processes
/// committing (about 1,400–1,700 messages/s sent, received and deleted on two cores, docs/performance.md).
/// </summary>
internal sealed class PostgresDeletes
{
    private readonly PostgresDatabase _database;
    private readonly GroupCommit<Delete> _batches;

    public PostgresDeletes(PostgresDatabase database, IOptions<StorageOptions> options)
    {
        _database = database;
        _batches = new GroupCommit<Delete>(RunAsync, options.Value.Postgres.MaxBatchDeletes, long.MaxValue, _ => 0);
    }

    /// <summary>Deletes the message, by its reservation token when one is given. Not cancelled once asked.</summary>
    public Task<DeleteMessageResult> DeleteAsync(long id, string? reservationToken)
    {
        var delete = new Delete(id, reservationToken);
        _batches.Add(delete);
        return delete.Result.Task;
    }

    private async Task RunAsync(List<Delete> batch)
    {
        try
        {
            await using var connection = await _database.DataSource.OpenConnectionAsync();

            // A message asked for twice goes in once (a null id matches no row); the others after the batch, one by one.
            var seen = new HashSet<long>();
            IEnumerable<(long N, bool Deleted)> rows;
            try
            {
                rows = await connection.QueryAsync<(long N, bool Deleted)>(
                    PostgresSql.DeleteMessages,
                    new
                    {
                        ids = batch.Select(d => seen.Add(d.Id) ? d.Id : (long?)null).ToArray(),
                        tokens = batch.Select(d => d.Token).ToArray(),
                    });
            }
            catch (PostgresException ex) when (!PostgresDatabase.IsOutage(ex))
            {
                // One delete's value the server refuses must not fail the others with it: each on its own.
                rows = [];
            }

            var answered = new bool[batch.Count];
            foreach (var (n, deleted) in rows)
            {
                answered[n - 1] = true;
                batch[(int)n - 1].Result.TrySetResult(deleted ? DeleteMessageResult.Deleted : DeleteMessageResult.TokenMismatch);
            }

            // Not found, or held by another transaction (a claim, a queue's deletion, which can take seconds) that the
            // batch passed by: each on its own, so that only it waits.
            for (var i = 0; i < batch.Count; i++)
            {
                if (!answered[i])
                {
                    _ = DeleteAloneAsync(batch[i]);
                }
            }
        }
        catch (Exception ex)
        {
            // Those answered keep their answer.
            foreach (var delete in batch)
            {
                delete.Result.TrySetException(ex);
            }
        }
    }

    private async Task DeleteAloneAsync(Delete delete)
    {
        try
        {
            await using var connection = await _database.DataSource.OpenConnectionAsync();
            var deleted = delete.Token is null
                ? await connection.ExecuteAsync(PostgresSql.DeleteMessage, new { id = delete.Id })
                : await connection.ExecuteAsync(PostgresSql.DeleteReservedMessage, new { id = delete.Id, token = delete.Token });
            delete.Result.TrySetResult(
                deleted > 0 ? DeleteMessageResult.Deleted
                : await connection.ExecuteScalarAsync<bool>(PostgresSql.MessageExists, new { id = delete.Id }) ? DeleteMessageResult.TokenMismatch
                : DeleteMessageResult.NotFound);
        }
        catch (Exception ex)
        {
            delete.Result.TrySetException(ex);
        }
    }

    private sealed record Delete(long Id, string? Token)
    {
        // Completed off the batch's thread, so the next batch does not wait for the requests' continuations.
        public TaskCompletionSource<DeleteMessageResult> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
