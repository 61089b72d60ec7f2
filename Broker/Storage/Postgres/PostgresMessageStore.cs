using System.Data;
using System.Text;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;
using WonderQ.Shared.Contracts;
using WonderQ.Shared.Validation;

namespace WonderQ.Broker.Storage.Postgres;

/// <summary>
/// <see cref="IMessageStore"/> on a PostgreSQL database that several brokers may share. Each request runs its own
/// statement on a pooled connection, and PostgreSQL commits concurrent ones together; a claim locks the rows it takes
/// and skips those another broker's claim holds. Every change that can make a message claimable is announced to the
/// other brokers once it has committed (<see cref="PostgresNotifications"/>), as it is to this one's consumers.
/// </summary>
internal sealed class PostgresMessageStore(
    PostgresDatabase database,
    PostgresSends sends,
    PostgresDeletes deletes,
    PostgresNotifications notifications,
    QueueActivity activity,
    StoreClock time,
    IOptions<StorageOptions> options,
    IOptions<LimitsOptions> limits)
    : IMessageStore
{
    private readonly TimeSpan _emptyLookLifetime = options.Value.Postgres.EmptyLookLifetime;
    private readonly int _maxBatchBytes = limits.Value.MaxBatchBytes;

    public QueueActivity Activity => activity;

    public Task<CreateQueueResult> CreateQueueAsync(string name, int maxQueues, CancellationToken cancellationToken) => database.RunAsync(
        async connection =>
        {
            await using var results = await connection.QueryMultipleAsync(
                new CommandDefinition(PostgresSql.CreateQueue, new { name, now = Now(), max = maxQueues }, cancellationToken: cancellationToken));
            await results.ReadAsync(); // the lock's
            var row = await results.ReadSingleOrDefaultAsync<StoreRows.QueueRow>();
            // The name before the limit, as on SQLite: a create retried after its answer was lost finds its own queue.
            return row is not null ? CreateQueueResult.Made(row.ToDto())
                : await results.ReadSingleAsync<bool>() ? new CreateQueueResult(CreateQueueOutcome.NameTaken)
                : new CreateQueueResult(CreateQueueOutcome.AtLimit);
        },
        cancellationToken);

    public Task<QueueDto?> FindQueueAsync(QueueRef queue, CancellationToken cancellationToken) =>
        database.ReadAsync(connection => FindAsync(connection, queue, cancellationToken), cancellationToken);

    public Task<IReadOnlyList<QueueCounts>> ListQueuesAsync(CancellationToken cancellationToken) => database.ReadAsync<IReadOnlyList<QueueCounts>>(
        async connection =>
        {
            // The clock is read once the snapshot is taken, as on SQLite: read before it, a send committed in between
            // would carry a later time than "now" and be counted as in flight. A repeatable-read transaction keeps the
            // snapshot of its first statement for the count.
            await using var snapshot = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);
            await connection.ExecuteAsync(new CommandDefinition(PostgresSql.TakeSnapshot, transaction: snapshot, cancellationToken: cancellationToken));
            var rows = await connection.QueryAsync<StoreRows.QueueCountsRow>(
                new CommandDefinition(PostgresSql.ListQueues, new { now = Now() }, snapshot, cancellationToken: cancellationToken));
            return rows.Select(r => r.ToDto()).ToList();
        },
        cancellationToken);

    public Task<bool> DeleteQueueAsync(QueueRef queue, CancellationToken cancellationToken) => database.RunAsync(
        async connection =>
        {
            if (await FindAsync(connection, queue, cancellationToken) is not { } found)
            {
                return false;
            }

            // Not cancelled once sent, as a send is not; and with no time limit, as its messages go with it, about 4-5 s a
            // million.
            cancellationToken.ThrowIfCancellationRequested();
            long? deleted;
            try
            {
                deleted = await connection.ExecuteScalarAsync<long?>(
                    new CommandDefinition(PostgresSql.DeleteQueue, new { id = found.Id }, commandTimeout: 0, cancellationToken: CancellationToken.None));
            }
            catch
            {
                // It may have committed before its answer was lost: the consumers waiting on the queue are let go (they
                // answer empty, as a client may hear at any time), rather than wait out their time on a queue that is gone.
                AnnounceDeleted(found.Id);
                throw;
            }

            if (deleted is null)
            {
                return false;
            }

            AnnounceDeleted(found.Id);
            return true;
        },
        cancellationToken);

    public Task<IReadOnlyList<MessageDto>?> PeekAsync(QueueRef queue, int size, CancellationToken cancellationToken) =>
        PeekAsync<MessageRow, MessageDto>(queue, PostgresSql.Peek, size, r => r.ToDto(), cancellationToken);

    public Task<IReadOnlyList<MessageVersion>?> PeekVersionsAsync(QueueRef queue, int size, CancellationToken cancellationToken) =>
        PeekAsync<StoreRows.MessageVersionRow, MessageVersion>(queue, PostgresSql.PeekVersions, size, r => r.ToVersion(), cancellationToken);

    /// <summary>
    /// Gathered with the other sends of the moment into one statement and one commit (<see cref="PostgresSends"/>); or,
    /// when a consumer is parked on the queue, claimed for it in its own transaction, as the SQLite store does: the
    /// consumer is answered by this commit, in the order consumers parked, instead of waking to race the others for it.
    /// </summary>
    public async Task<SentMessage?> SendAsync(QueueRef queue, string body, CancellationToken cancellationToken)
    {
        // By id alone, the statement that inserts finds whether there is such a queue.
        var queueId = queue is { Id: { } id, Name: null }
            ? id
            : (await database.ReadAsync(connection => FindAsync(connection, queue, cancellationToken), cancellationToken))?.Id;
        if (queueId is not { } found)
        {
            return null;
        }

        var bytes = Encoding.UTF8.GetBytes(body);

        // From here the statements run to the end whatever the client does: one cancelled as it commits would leave a
        // change that no consumer hears of.
        cancellationToken.ThrowIfCancellationRequested();
        if (activity.Parked?.Take(found, 1) is [var consumer])
        {
            // Taken, the consumer can no longer time out or be woken otherwise: it must be handed this claim, or a
            // failure, whatever fails, opening the connection too.
            var handOver = new TaskCompletionSource<ClaimResult?>(TaskCreationOptions.RunContinuationsAsynchronously);
            consumer.HandOver(handOver.Task);
            try
            {
                return await database.RunAsync(connection => HandOverAsync(connection, found, bytes, consumer, handOver), CancellationToken.None);
            }
            catch (Exception ex)
            {
                // As the send is told of it: an outage as a 503, logged once.
                handOver.TrySetException(ex);
                LookAgain(found, 1 + consumer.Size);
                throw;
            }
        }

        long? sent;
        try
        {
            sent = await database.RunAsync(() => sends.InsertAsync(found, bytes));
        }
        catch
        {
            // It may have committed before its answer was lost.
            LookAgain(found, 1);
            throw;
        }

        if (sent is null)
        {
            return null;
        }

        activity.Changed(found);
        activity.OnPublished(found, 1);
        notifications.Published(found);
        return new SentMessage(sent.Value, found);
    }

    private async Task<SentMessage?> HandOverAsync(
        NpgsqlConnection connection, long queueId, byte[] body, IParkedConsumer consumer, TaskCompletionSource<ClaimResult?> handOver)
    {
        // Read once the connection is had, as a claim's is: a wait for one (a full pool) taken off the reservation could
        // end it before the consumer even has the message, and another consumer would be handed it too.
        var now = time.GetUtcNow();
        var until = now + consumer.VisibilityTimeout;
        long? id = null;
        ClaimResult? claim = null;
        var passedOver = 0;

        // A failure reaches the consumer through SendAsync, which also wakes the queue's consumers.
        try
        {
            await using var results = await connection.QueryMultipleAsync(new CommandDefinition(
                PostgresSql.HandOver,
                new { queue_id = queueId, body, now = Millis(now), size = consumer.Size, max_bytes = _maxBatchBytes, until = Millis(until), token = NewToken() },
                cancellationToken: CancellationToken.None));
            id = await results.ReadSingleOrDefaultAsync<long?>();
            (claim, passedOver) = id is null ? (null, 0) : Claimed(queueId, await results.ReadAsync<ClaimedRow>());
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            // Deleted while the message went in; the claim went back with it.
        }

        var ranOut = claim is { Messages.Count: > 0 } && RanOut(until, consumer.VisibilityTimeout);

        // No such queue: the consumer's queue went while it waited, which is answered as its deletion is. A claim that ran
        // out is handed over empty, and the consumer looks again, as for a message an earlier claim took.
        handOver.TrySetResult(ranOut ? claim! with { Messages = [] } : claim);
        if (id is null)
        {
            return null;
        }

        if (ranOut)
        {
            LookAgain(queueId, claim!.Messages.Count + passedOver);
            return new SentMessage(id.Value, queueId);
        }

        activity.Changed(queueId);
        activity.OnReserved(queueId, until);
        notifications.Reserved(queueId, until);

        // The consumer took older messages (ones whose reservations ran out), and the new one is there for another; and
        // the rows Limits:MaxBatchBytes cut off were locked until the commit, so claims running meanwhile skipped them.
        // (The new message may be among those: one consumer more looks than need to.)
        var left = passedOver + (claim!.Messages.Any(m => m.Id == id) ? 0 : 1);
        if (left > 0)
        {
            activity.OnPublished(queueId, left);
            notifications.Published(queueId, left);
        }

        return new SentMessage(id.Value, queueId);
    }

    /// <summary>
    /// One claim at a time on a queue in this broker (striped by queue): claims on a queue all start at its head, so
    /// concurrent ones each stepped past the rows the others had just locked, and 32 consumers got three messages a
    /// claim from a queue with 20 to 40 ready.
    /// </summary>
    private readonly SemaphoreSlim[] _claimGates = [.. Enumerable.Range(0, 64).Select(_ => new SemaphoreSlim(1, 1))];

    public async Task<ClaimResult?> ClaimAsync(QueueRef queue, int size, TimeSpan visibilityTimeout, bool mayPark, CancellationToken cancellationToken)
    {
        var gate = _claimGates[(int)((ulong)(queue.Id ?? StringComparer.Ordinal.GetHashCode(queue.Name ?? "")) % (ulong)_claimGates.Length)];
        await gate.WaitAsync(cancellationToken);
        try
        {
            return await ClaimOnceAsync(queue, size, visibilityTimeout, mayPark, cancellationToken);
        }
        finally
        {
            gate.Release();
        }
    }

    private Task<ClaimResult?> ClaimOnceAsync(QueueRef queue, int size, TimeSpan visibilityTimeout, bool mayPark, CancellationToken cancellationToken) =>
        database.RunAsync(
            async connection =>
            {
                if (await QueueIdAsync(connection, queue, cancellationToken) is not { } queueId)
                {
                    return null;
                }

                // Read before the claim's snapshot: a change committed after it then differs from what the claim saw,
                // and a consumer about to park looks again (LongPoll).
                var changesSeen = activity.ChangesTo(queueId);
                var lookedAt = time.GetTimestamp();
                var now = time.GetUtcNow();
                var until = now + visibilityTimeout;
                cancellationToken.ThrowIfCancellationRequested();
                ClaimResult claim;
                int passedOver;
                try
                {
                    // Not cancelled once sent, as a send is not.
                    (claim, passedOver) = await ClaimInAsync(connection, queueId, size, now, until, CancellationToken.None);
                }
                catch
                {
                    // It may have committed before its answer was lost, and its locks made other claims pass up to that
                    // many rows by.
                    LookAgain(queueId, size);
                    throw;
                }

                if (claim.Messages.Count > 0 && RanOut(until, visibilityTimeout))
                {
                    // Answered as a claim that found nothing, since the change makes the consumer look again.
                    LookAgain(queueId, claim.Messages.Count + passedOver);
                    claim = claim with { Messages = [] };
                }

                if (claim.Messages.Count > 0)
                {
                    activity.Changed(queueId);
                    activity.OnReserved(queueId, until);
                    notifications.Reserved(queueId, until);
                    if (passedOver > 0)
                    {
                        // Locked until the commit, the rows the cut left were skipped by any claim running meanwhile, here (a
                        // hand-over's) or on another broker, whose consumer would then sleep beside them: they are announced,
                        // as a failed claim's are.
                        activity.OnPublished(queueId, passedOver);
                        notifications.Published(queueId, passedOver);
                    }

                    return claim;
                }

                // Found nothing: perhaps because there is no such queue, when the claim named it by id alone.
                if (queue.Name is null && await FindAsync(connection, queue, cancellationToken) is null)
                {
                    return null;
                }

                var nextExpiry = mayPark
                    ? await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                        PostgresSql.NextExpiry, new { queue_id = queueId, after = Millis(now) }, cancellationToken: cancellationToken))
                    : null;
                // Another broker's change is heard of by its notification alone, which a broker that dies just after its
                // commit never sends: consumers of this broker stop trusting this look before long (LongPoll).
                return claim with
                {
                    ChangesSeen = changesSeen,
                    StandsUntil = nextExpiry is { } ms ? Time(ms) : null,
                    TrustedUntil = lookedAt + (long)(_emptyLookLifetime.TotalSeconds * time.TimestampFrequency),
                };
            },
            cancellationToken);

    /// <summary>Gathered with the other deletes of the moment into one statement and one commit (<see cref="PostgresDeletes"/>).</summary>
    public Task<DeleteMessageResult> DeleteMessageAsync(long id, string? reservationToken, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return database.RunAsync(() => deletes.DeleteAsync(id, reservationToken, cancellationToken));
    }

    public Task<DateTimeOffset?> NextExpiryAsync(long queueId, DateTimeOffset after, CancellationToken cancellationToken) => database.ReadAsync(
        async connection =>
        {
            var next = await connection.ExecuteScalarAsync<long?>(
                new CommandDefinition(PostgresSql.NextExpiry, new { queue_id = queueId, after = Millis(after) }, cancellationToken: cancellationToken));
            return next is { } ms ? Time(ms) : (DateTimeOffset?)null;
        },
        cancellationToken);

    public async Task<string?> PingAsync(CancellationToken cancellationToken)
    {
        try
        {
            await database.RunAsync(
                connection => connection.ExecuteScalarAsync<long>(new CommandDefinition(PostgresSql.Ping, cancellationToken: cancellationToken)),
                cancellationToken);
            return null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return "The message store does not answer.";
        }
    }

    private long Now() => Millis(time.GetUtcNow());

    private void AnnounceDeleted(long queueId)
    {
        activity.Changed(queueId);
        activity.OnQueueDeleted(queueId);
        notifications.Deleted(queueId);
    }

    /// <summary>
    /// Whether a reservation had run out by the time its claim came back (a server that stalled for longer than the
    /// visibility timeout): its messages are anyone's again, and handed out they would reach another consumer within the
    /// window this one was promised. A visibility timeout of 0 reserves nothing, and is handed out as it is. Compared in
    /// the milliseconds a claim reads <c>visible_at</c> in: from <c>until</c>'s millisecond on, another claim can take them.
    /// </summary>
    private bool RanOut(DateTimeOffset until, TimeSpan visibilityTimeout) =>
        visibilityTimeout > TimeSpan.Zero && Millis(time.GetUtcNow()) >= Millis(until);

    /// <summary>
    /// After a write whose outcome is unknown: every consumer that might have missed what it did looks at the queue
    /// again, here and on the other brokers. A needless look costs a claim; a missed one, a message slept through.
    /// </summary>
    private void LookAgain(long queueId, int messages)
    {
        activity.Changed(queueId);
        activity.OnPublished(queueId, messages);
        notifications.Published(queueId, messages);
    }

    private async Task<(ClaimResult Claim, int PassedOver)> ClaimInAsync(
        NpgsqlConnection connection, long queueId, int size, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken)
    {
        var rows = await connection.QueryAsync<ClaimedRow>(new CommandDefinition(
            PostgresSql.Claim,
            new { queue_id = queueId, now = Millis(now), size, max_bytes = _maxBatchBytes, until = Millis(until), token = NewToken() },
            cancellationToken: cancellationToken));
        return Claimed(queueId, rows);
    }

    /// <summary>
    /// The claim's batch, back in queue order (RETURNING keeps no order), and how many rows it locked and then left out
    /// for Limits:MaxBatchBytes: locked until the commit, they were skipped by any claim that ran meanwhile.
    /// </summary>
    private static (ClaimResult Claim, int PassedOver) Claimed(long queueId, IEnumerable<ClaimedRow> rows)
    {
        var messages = rows.OrderBy(r => r.WasVisibleAt).ThenBy(r => r.Id).ToList();
        var passedOver = messages is [var first, ..] ? (int)first.Picked - messages.Count : 0;
        return (new ClaimResult(queueId, [.. messages.Select(r => r.ToDto())]) { CutShort = passedOver > 0 }, passedOver);
    }

    private static string NewToken() => Guid.NewGuid().ToString("N");

    private static long Millis(DateTimeOffset at) => at.ToUnixTimeMilliseconds();

    private static DateTimeOffset Time(long unixMilliseconds) => StoreRows.Time(unixMilliseconds);

    /// <summary>The queue's id; by its id alone without a look at the table, where the statement that uses it finds no such queue itself.</summary>
    private static async Task<long?> QueueIdAsync(NpgsqlConnection connection, QueueRef queue, CancellationToken cancellationToken) =>
        queue is { Id: { } id, Name: null } ? id : (await FindAsync(connection, queue, cancellationToken))?.Id;

    private static async Task<QueueDto?> FindAsync(NpgsqlConnection connection, QueueRef queue, CancellationToken cancellationToken)
    {
        var sql = (queue.Id, queue.Name) switch
        {
            (not null, not null) => PostgresSql.QueueByIdAndName,
            (not null, null) => PostgresSql.QueueById,
            (null, not null) => PostgresSql.QueueByName,
            _ => null,
        };
        if (sql is null)
        {
            return null;
        }

        var row = await connection.QuerySingleOrDefaultAsync<StoreRows.QueueRow>(
            new CommandDefinition(sql, new { id = queue.Id, name = queue.Name }, cancellationToken: cancellationToken));
        return row?.ToDto();
    }

    private Task<IReadOnlyList<T>?> PeekAsync<TRow, T>(QueueRef queue, string sql, int size, Func<TRow, T> map, CancellationToken cancellationToken) =>
        database.ReadAsync<IReadOnlyList<T>?>(
            async connection =>
            {
                if (await FindAsync(connection, queue, cancellationToken) is not { } found)
                {
                    return null;
                }

                var rows = await connection.QueryAsync<TRow>(
                    new CommandDefinition(sql, new { queue_id = found.Id, size, max_bytes = _maxBatchBytes }, cancellationToken: cancellationToken));
                return rows.Select(map).ToList();
            },
            cancellationToken);

    private class MessageRow
    {
        public long Id { get; init; }
        public long QueueId { get; init; }
        public byte[] Body { get; init; } = [];
        public long CreatedAt { get; init; }
        public long? RetrievableAt { get; init; }
        public string? ReservationToken { get; init; }
        public int ReceiveCount { get; init; }

        public MessageDto ToDto() => new(
            Id, QueueId, Encoding.UTF8.GetString(Body), Time(CreatedAt), RetrievableAt is { } at ? Time(at) : null, ReservationToken, ReceiveCount);
    }

    private sealed class ClaimedRow : MessageRow
    {
        public long WasVisibleAt { get; init; }
        public long Picked { get; init; }
    }
}
