namespace WonderQ.Broker.Storage;

/// <summary>
/// The consumers parked in a long poll, as a store sees them: it can serve some inside the very commit that publishes
/// for them, so a parked consumer's claim shares the send's transaction instead of taking a second trip through the
/// writer after it wakes.
/// </summary>
public interface IParkedConsumers
{
    /// <summary>
    /// Takes parked consumers of a queue, oldest first, until between them they would take
    /// <paramref name="messages"/> messages. A consumer taken can no longer time out or be woken otherwise: the store
    /// must hand each one its claim.
    /// </summary>
    IReadOnlyList<IParkedConsumer> Take(long queueId, int messages);
}

public interface IParkedConsumer
{
    int Size { get; }

    TimeSpan VisibilityTimeout { get; }

    /// <summary>Hands over the claim run for this consumer; it completes when its transaction commits, or fails with it.</summary>
    void HandOver(Task<ClaimResult?> claim);
}
