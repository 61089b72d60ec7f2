using WonderQ.Shared.Contracts;

namespace WonderQ.Broker.Storage.Sqlite;

/// <summary>
/// One request's change, run by the commit writer inside a transaction it shares with other requests. Its result
/// is handed back only after that transaction commits; its events are raised only then too.
/// </summary>
internal abstract class WriteOperation
{
    protected WriteOperation(CancellationToken cancellationToken) => CancellationToken = cancellationToken;

    public CancellationToken CancellationToken { get; }

    /// <summary>When the request handed it to the writer (<see cref="System.Diagnostics.Stopwatch"/>'s timestamp).</summary>
    public long Queued { get; set; }

    /// <summary>
    /// Whether the commit must reach the disk before the answer: true for what a client was promised would last
    /// (a sent message, a created or deleted queue). A claim or a delete undone by a power loss only makes a message
    /// deliverable again, which at-least-once delivery already allows, so those commit without a sync of their own.
    /// </summary>
    public virtual bool NeedsSync => false;

    /// <summary>
    /// Runs inside the open transaction. <paramref name="now"/> is the batch's clock reading; a change that can make
    /// messages claimable is counted on <paramref name="activity"/> as it runs (see <see cref="QueueActivity.ChangesTo"/>).
    /// </summary>
    public abstract void Execute(WriterCommands commands, QueueActivity activity, DateTimeOffset now);

    /// <summary>After the commit: hand back the result.</summary>
    public abstract void Complete(QueueActivity activity);

    public abstract void Fail(Exception exception);

    public abstract void Cancel();
}

internal abstract class WriteOperation<T>(CancellationToken cancellationToken) : WriteOperation(cancellationToken)
{
    // Continuations run off the writer thread, so the writer goes straight on to the next batch.
    private readonly TaskCompletionSource<T> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<T> Task => _result.Task;

    protected T? Result { get; set; }

    public override void Complete(QueueActivity activity)
    {
        _result.TrySetResult(Result!);
        Announce(activity);
    }

    public override void Fail(Exception exception) => _result.TrySetException(exception);

    public override void Cancel() => _result.TrySetCanceled(CancellationToken);

    protected virtual void Announce(QueueActivity activity)
    {
    }
}

internal sealed class CreateQueueOperation(string name, int maxQueues, CancellationToken ct) : WriteOperation<CreateQueueResult>(ct)
{
    public override bool NeedsSync => true;

    public override void Execute(WriterCommands commands, QueueActivity activity, DateTimeOffset now)
    {
        // The name first: a create retried after its answer was lost finds its own queue, even at the limit.
        if (commands.FindQueue(QueueRef.ByName(name)) is not null)
        {
            Result = new(CreateQueueOutcome.NameTaken);
            return;
        }

        // Counted on the one connection that creates and deletes queues, so the count is exact.
        if (commands.CountQueues() >= maxQueues)
        {
            Result = new(CreateQueueOutcome.AtLimit);
            return;
        }

        using var run = commands.InsertQueue.With(name, SqliteRows.Millis(now));
        if (!run.Read())
        {
            Result = new(CreateQueueOutcome.NameTaken);
            return;
        }

        var queue = SqliteRows.Queue(run);
        commands.QueueCreated(queue);
        Result = CreateQueueResult.Made(queue);
    }
}

internal sealed class DeleteQueueOperation(QueueRef queue, int purgeBatchSize, long purgeBatchBytes, CancellationToken ct)
    : WriteOperation<bool>(ct)
{
    public override bool NeedsSync => true;

    private long _deletedId;

    /// <summary>Once executed: the queue whose messages were too many to delete with it, which the writer purges next.</summary>
    public long? PurgeLeft { get; private set; }

    public override void Execute(WriterCommands commands, QueueActivity activity, DateTimeOffset now)
    {
        if (commands.FindQueue(queue) is not { } found)
        {
            Result = false;
            return;
        }

        // The queue first: the count trigger on each deleted message then has no row left to update, and what its
        // purge has not reached yet is already gone to every request (SqliteSql.DeleteMessage).
        commands.DeleteQueue.Execute(found.Id);
        if (!commands.PurgeChunk(found.Id, purgeBatchSize, purgeBatchBytes))
        {
            commands.InsertPurge.Execute(found.Id);
            PurgeLeft = found.Id;
        }

        commands.QueueDeleted(found);
        activity.Changed(found.Id);
        _deletedId = found.Id;
        Result = true;
    }

    protected override void Announce(QueueActivity activity)
    {
        if (Result)
        {
            activity.OnQueueDeleted(_deletedId);
        }
    }
}

internal sealed class SendOperation(QueueRef queue, string body, CancellationToken ct) : WriteOperation<SentMessage?>(ct)
{
    public override bool NeedsSync => true;

    public override void Execute(WriterCommands commands, QueueActivity activity, DateTimeOffset now)
    {
        var queueId = commands.FindQueue(queue)?.Id;
        if (queueId is null)
        {
            Result = null;
            return;
        }

        long messageId;
        using (var run = commands.InsertMessage.With(queueId.Value, body, SqliteRows.Millis(now)))
        {
            messageId = run.Read() ? run.Int64(0) : throw new InvalidOperationException("The message insert returned no id.");
        }

        activity.Changed(queueId.Value);
        Result = new SentMessage(messageId, queueId.Value);
    }

    /// <summary>The message stored, once executed; the writer announces publishes per batch, not per send.</summary>
    public SentMessage? Sent => Result;
}

/// <summary>A claim of up to <paramref name="size"/> messages whose bodies take at most <paramref name="maxBytes"/>, the first whatever its size.</summary>
internal sealed class ClaimOperation(QueueRef queue, int size, int maxBytes, TimeSpan visibilityTimeout, CancellationToken ct)
    : WriteOperation<ClaimResult?>(ct)
{
    private DateTimeOffset _until;

    /// <summary>What it claimed, once executed: null when there is no such queue.</summary>
    public ClaimResult? Claim => Result;

    /// <summary>How many messages it reserved, once executed.</summary>
    public int Claimed => Result?.Messages.Count ?? 0;

    /// <summary>See <see cref="IMessageStore.ClaimAsync"/>: only then does an empty claim look up the next expiry.</summary>
    public bool MayPark { get; init; }

    public override void Execute(WriterCommands commands, QueueActivity activity, DateTimeOffset now)
    {
        if (commands.FindQueue(queue) is not { } found)
        {
            Result = null;
            return;
        }

        var ids = new List<long>(size);
        var cutShort = false;
        using (var run = commands.SelectClaimable.With(found.Id, SqliteRows.Millis(now), size))
        {
            long bytes = 0;
            while (run.Read())
            {
                bytes += run.Int64(1);
                if (ids.Count > 0 && bytes > maxBytes)
                {
                    cutShort = true;
                    break;
                }

                ids.Add(run.Int64(0));
            }
        }

        if (ids.Count == 0)
        {
            // What a long poll parking after this needs, to know whether a second look could find anything.
            long? nextExpiry = null;
            if (MayPark)
            {
                using var run = commands.NextExpiry.With(found.Id, SqliteRows.Millis(now));
                nextExpiry = run.Read() ? run.NullableInt64(0) : null;
            }

            Result = new ClaimResult(found.Id, [])
            {
                ChangesSeen = activity.ChangesTo(found.Id),
                StandsUntil = nextExpiry is { } ms ? SqliteRows.Time(ms) : null,
            };
            return;
        }

        _until = now + visibilityTimeout;
        var messages = new List<MessageDto>(ids.Count);
        var token = Guid.NewGuid().ToString("N");
        using (var run = commands.Reserve.With(SqliteRows.Millis(_until), token, SqliteRows.IdList(ids)))
        {
            while (run.Read())
            {
                messages.Add(SqliteRows.Message(run));
            }
        }

        // RETURNING's order is unspecified: put the batch back in queue order. By a lookup of each position, not a
        // search for it: a claim of Limits:MaxBatchSize (up to 10,000) would hold the writer for a second.
        var position = new Dictionary<long, int>(ids.Count);
        for (var i = 0; i < ids.Count; i++)
        {
            position[ids[i]] = i;
        }

        messages.Sort((a, b) => position[a.Id].CompareTo(position[b.Id]));
        activity.Changed(found.Id);

        Result = new ClaimResult(found.Id, messages) { CutShort = cutShort };
    }

    /// <summary>
    /// Empties the claim when its reservation had run out by <paramref name="committedAt"/> (a commit held up past the
    /// visibility timeout), and says how many messages it gave back: they are anyone's again, and handed out they would
    /// reach another consumer within the window this one was promised. A visibility timeout of 0 reserves nothing.
    /// </summary>
    public (long QueueId, int Count)? GiveBackIfRanOut(DateTimeOffset committedAt)
    {
        // In the stored milliseconds, as a claim compares them: the message is claimable from then on.
        if (Result is not { Messages.Count: > 0 } claim || visibilityTimeout <= TimeSpan.Zero
            || SqliteRows.Millis(committedAt) < SqliteRows.Millis(_until))
        {
            return null;
        }

        Result = new ClaimResult(claim.QueueId, []);
        return (claim.QueueId, claim.Messages.Count);
    }

    protected override void Announce(QueueActivity activity)
    {
        if (Result is { Messages.Count: > 0 } claim)
        {
            activity.OnReserved(claim.QueueId, _until);
        }
    }
}

internal sealed class DeleteMessageOperation(long id, string? token, CancellationToken ct) : WriteOperation<DeleteMessageResult>(ct)
{
    public override void Execute(WriterCommands commands, QueueActivity activity, DateTimeOffset now)
    {
        var deleted = token is null ? commands.DeleteMessage.Execute(id) : commands.DeleteReservedMessage.Execute(id, token);
        if (deleted > 0)
        {
            Result = DeleteMessageResult.Deleted;
            return;
        }

        using var run = commands.MessageExists.With(id);
        Result = run.Read() ? DeleteMessageResult.TokenMismatch : DeleteMessageResult.NotFound;
    }
}
