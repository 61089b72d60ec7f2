namespace WonderQ.Broker.Storage;

/// <summary>
/// What a store tells the rest of the broker after each commit: messages published, reservations made,
/// queues deleted. Waiting consumers listen here instead of polling the database.
/// </summary>
public sealed class QueueActivity
{
    // Striped by queue id: queues that share a counter only cost each other's consumers a needless second look,
    // never a missed message, and the array does not grow with the number of queues ever created.
    private readonly long[] _changes = new long[256];

    public event Action<long, int>? Published;

    public event Action<long, DateTimeOffset>? Reserved;

    public event Action<long>? QueueDeleted;

    /// <summary>Changes may have gone by unannounced (a store lost its line to other brokers): every waiting consumer looks again.</summary>
    public event Action? Unannounced;

    /// <summary>
    /// Whether changes can happen that this broker hears nothing of right now: a store shared with other brokers that
    /// is not listening for theirs. The counts below cannot then say that nothing changed.
    /// </summary>
    public bool Deaf
    {
        get => Volatile.Read(ref _deaf);
        set => Volatile.Write(ref _deaf, value);
    }

    private bool _deaf;

    /// <summary>The long-polling consumers a store may serve as it publishes; set by whatever parks them.</summary>
    public IParkedConsumers? Parked { get; set; }

    /// <summary>
    /// Counts, in the writer's order, every change that can make a queue's messages claimable now or later: a publish,
    /// a reservation (it runs out), the queue's deletion. Bumped as the change runs, before the events above, which
    /// the waiting consumers handle under the lock they park under: a consumer that reads it after parking either
    /// sees the change or was parked in time to be woken by it.
    /// </summary>
    public long ChangesTo(long queueId) => Volatile.Read(ref _changes[queueId & 255]);

    public void Changed(long queueId) => Interlocked.Increment(ref _changes[queueId & 255]);

    public void OnPublished(long queueId, int count) => Published?.Invoke(queueId, count);

    public void OnReserved(long queueId, DateTimeOffset until) => Reserved?.Invoke(queueId, until);

    public void OnQueueDeleted(long queueId) => QueueDeleted?.Invoke(queueId);

    public void OnUnannounced()
    {
        for (var i = 0; i < _changes.Length; i++)
        {
            Interlocked.Increment(ref _changes[i]);
        }

        Unannounced?.Invoke();
    }
}
