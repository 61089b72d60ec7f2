using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;

namespace WonderQ.Broker.Storage.Postgres;

/// <summary>
/// Group commit for deletes, as <see cref="PostgresSends"/> for sends: a consumer deletes every message it has handled,
/// so a steady flow has a delete for each send, and one statement and one transaction each kept the server's processes
/// committing (about 1,400–1,700 messages/s sent, received and deleted on two cores, docs/performance-journal.md, 2026-12-03).
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

    /// <summary>
    /// Deletes the message, by its reservation token when one is given. Not cancelled once in a batch; cancelled while it
    /// waits on its own for a row another transaction holds, which a queue's deletion can do for seconds.
    /// </summary>
    public Task<DeleteMessageResult> DeleteAsync(long id, string? reservationToken, CancellationToken cancellationToken)
    {
        var delete = new Delete(id, reservationToken, cancellationToken);
        if (delete.TokenCannotMatch)
        {
            // Kept out of the batch: the server would refuse the token, and the batch with it.
            _ = DeleteAloneAsync(delete);
        }
        else
        {
            _batches.Add(delete);
        }

        return delete.Result.Task;
    }

    private async Task RunAsync(List<Delete> batch)
    {
        try
        {
            await using var connection = await _database.OpenAsync();

            // A message asked for twice goes in once (a null id matches no row); the others after the batch, one by one.
            var seen = new HashSet<long>();
            IEnumerable<long> deleted;
            try
            {
                deleted = await connection.QueryAsync<long>(
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
                deleted = [];
            }

            var answered = new bool[batch.Count];
            foreach (var n in deleted)
            {
                answered[n - 1] = true;
                batch[(int)n - 1].Result.TrySetResult(DeleteMessageResult.Deleted);
            }

            // Not found, under another token, or held by another transaction (a claim, a queue's deletion, which can
            // take seconds) that the batch passed by: each on its own, so that only it waits.
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
        var cancellationToken = delete.Cancelled;
        try
        {
            await _database.LoneWaits.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException ex)
        {
            delete.Result.TrySetException(ex);
            return;
        }

        try
        {
            await using var connection = await _database.OpenAsync(cancellationToken);
            var deleted = delete.Token is null
                ? await connection.ExecuteAsync(new CommandDefinition(PostgresSql.DeleteMessage, new { id = delete.Id }, cancellationToken: cancellationToken))
                : delete.TokenCannotMatch ? 0
                : await connection.ExecuteAsync(new CommandDefinition(
                    PostgresSql.DeleteReservedMessage, new { id = delete.Id, token = delete.Token }, cancellationToken: cancellationToken));
            delete.Result.TrySetResult(
                deleted > 0 ? DeleteMessageResult.Deleted
                : await connection.ExecuteScalarAsync<bool>(new CommandDefinition(PostgresSql.MessageExists, new { id = delete.Id }, cancellationToken: cancellationToken))
                    ? DeleteMessageResult.TokenMismatch
                    : DeleteMessageResult.NotFound);
        }
        catch (Exception ex)
        {
            delete.Result.TrySetException(ex);
        }
        finally
        {
            _database.LoneWaits.Release();
        }
    }

    private sealed record Delete(long Id, string? Token, CancellationToken Cancelled)
    {
        // Completed off the batch's thread, so the next batch does not wait for the requests' continuations.
        public TaskCompletionSource<DeleteMessageResult> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>
        /// PostgreSQL's text cannot hold U+0000, which no token the broker hands out has: such a token is no reservation
        /// (a 409, or a 404 for no such message, as on SQLite), and is never sent.
        /// </summary>
        public bool TokenCannotMatch => Token?.Contains('\0', StringComparison.Ordinal) == true;
    }
}
