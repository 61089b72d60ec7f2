using WonderQ.Shared.Contracts;

namespace WonderQ.Broker.Storage;

/// <summary>
/// Everything the broker keeps. Endpoints talk only to this; each implementation keeps its SQL beside it.
/// Its times come from <see cref="StoreClock"/>, the clock the waiting consumers compare them with, never from the
/// system's directly: that clock never goes back, and tests drive it with a fake <see cref="TimeProvider"/>.
/// </summary>
public interface IMessageStore
{
    /// <summary>
    /// Its events are raised after a commit, never before, so a woken consumer always finds what it was woken for; its
    /// change counts run ahead of them (see <see cref="QueueActivity.ChangesTo"/>).
    /// </summary>
    QueueActivity Activity { get; }

    /// <summary>
    /// The new queue; or none, when one of that name exists (whatever the count), or when the store holds
    /// <paramref name="maxQueues"/> already, counted at the moment of the create, so that creates at once through every
    /// broker on one database cannot pass the limit together.
    /// </summary>
    Task<CreateQueueResult> CreateQueueAsync(string name, int maxQueues, CancellationToken cancellationToken);

    Task<QueueDto?> FindQueueAsync(QueueRef queue, CancellationToken cancellationToken);

    Task<IReadOnlyList<QueueCounts>> ListQueuesAsync(CancellationToken cancellationToken);

    /// <summary>Deletes a queue and all of its messages; false when there is no such queue.</summary>
    Task<bool> DeleteQueueAsync(QueueRef queue, CancellationToken cancellationToken);

    /// <summary>
    /// The oldest messages (lowest id first), in flight or not, without claiming them, as many as their bodies' bytes
    /// allow under Limits:MaxBatchBytes (the first whatever its size); null when there is no such queue.
    /// </summary>
    Task<IReadOnlyList<MessageDto>?> PeekAsync(QueueRef queue, int size, CancellationToken cancellationToken);

    /// <summary>
    /// What <see cref="PeekAsync"/> would answer, without the bodies: enough to tell whether it changed since a caller
    /// last looked. Null when there is no such queue.
    /// </summary>
    Task<IReadOnlyList<MessageVersion>?> PeekVersionsAsync(QueueRef queue, int size, CancellationToken cancellationToken);

    /// <summary>Stores a message and returns once it is durably committed; null when there is no such queue.</summary>
    Task<SentMessage?> SendAsync(QueueRef queue, string body, CancellationToken cancellationToken);

    /// <summary>
    /// Reserves up to <paramref name="size"/> retrievable messages under one fresh token in one atomic step, in queue
    /// order and as many as their bodies' bytes allow under Limits:MaxBatchBytes (the first whatever its size);
    /// null when there is no such queue. With <paramref name="mayPark"/> (the caller waits if it finds nothing), an
    /// empty result also says what a second look would have to see (<see cref="ClaimResult.ChangesSeen"/>,
    /// <see cref="ClaimResult.StandsUntil"/>).
    /// </summary>
    Task<ClaimResult?> ClaimAsync(QueueRef queue, int size, TimeSpan visibilityTimeout, bool mayPark, CancellationToken cancellationToken);

    Task<DeleteMessageResult> DeleteMessageAsync(long id, string? reservationToken, CancellationToken cancellationToken);

    /// <summary>When the first reservation in the queue that runs out after <paramref name="after"/> does, if any.</summary>
    Task<DateTimeOffset?> NextExpiryAsync(long queueId, DateTimeOffset after, CancellationToken cancellationToken);

    /// <summary>Null when the store answers a read of its data; otherwise why it is not healthy, for a person to read.</summary>
    Task<string?> PingAsync(CancellationToken cancellationToken);
}

public sealed record SentMessage(long Id, long QueueId);

/// <summary>
/// A message as far as a peek can see it change: a body never changes, and every claim gives a fresh token and one
/// receive more. Ids are unique only within a database file: with its creation time, a message of a file deleted and
/// started afresh is not taken for the one that had its id.
/// </summary>
public sealed record MessageVersion(long Id, DateTimeOffset CreatedAt, string? ReservationToken, int ReceiveCount);

public sealed record ClaimResult(long QueueId, IReadOnlyList<MessageDto> Messages)
{
    /// <summary>Whether Limits:MaxBatchBytes left out a retrievable message that the claim's size had room for.</summary>
    public bool CutShort { get; init; }

    /// <summary>For a claim that found nothing: <see cref="QueueActivity.ChangesTo"/> as it ran.</summary>
    public long ChangesSeen { get; init; }

    /// <summary>
    /// For a claim that may park and found nothing: until when a second look could find nothing new unless a change is
    /// heard of, which is when the queue's first reservation runs out, if it has any.
    /// </summary>
    public DateTimeOffset? StandsUntil { get; init; }

    /// <summary>
    /// For such a claim on a store shared with other brokers: the timestamp (<see cref="TimeProvider.GetTimestamp"/>)
    /// after which it is too old to trust that every change was heard of (a broker that dies between its commit and its
    /// notification tells nothing). On the monotonic clock, as a duration: the broker's time stands still after the wall
    /// clock steps back (<see cref="StoreClock"/>), and a look trusted until that time passed was trusted until the wall
    /// clock caught up, an hour after a step of an hour.
    /// </summary>
    public long? TrustedUntil { get; init; }
}

public enum DeleteMessageResult
{
    Deleted,
    NotFound,

    /// <summary>The message exists but is not reserved under the token given.</summary>
    TokenMismatch,
}

public enum CreateQueueOutcome
{
    Created,
    NameTaken,
    AtLimit,
}

/// <summary>What a create came to; <see cref="Queue"/> is set when it was <see cref="CreateQueueOutcome.Created"/>.</summary>
public readonly record struct CreateQueueResult(CreateQueueOutcome Outcome, QueueDto? Queue = null)
{
    public static CreateQueueResult Made(QueueDto queue) => new(CreateQueueOutcome.Created, queue);
}
