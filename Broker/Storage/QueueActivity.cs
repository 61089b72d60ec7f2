namespace WonderQ.Broker.Storage;

/// <summary>
/// What a store tells the rest of the broker after each commit: messages published, reservations made,
/// queues deleted. Waiting consumers listen here instead of polling the database.
/// </summary>
public sealed class QueueActivity
{
    public event Action<long, int>? Published;

    public event Action<long, DateTimeOffset>? Reserved;

    public event Action<long>? QueueDeleted;

    /// <summary>The long-polling consumers a store may serve as it publishes; set by whatever parks them.</summary>
    public IParkedConsumers? Parked { get; set; }

    public void OnPublished(long queueId, int count) => Published?.Invoke(queueId, count);

    public void OnReserved(long queueId, DateTimeOffset until) => Reserved?.Invoke(queueId, until);

    public void OnQueueDeleted(long queueId) => QueueDeleted?.Invoke(queueId);
}
