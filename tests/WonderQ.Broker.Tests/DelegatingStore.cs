using WonderQ.Broker.Storage;
using WonderQ.Shared.Contracts;

namespace WonderQ.Broker.Tests;

/// <summary>The broker's own store, passed through; a test overrides the one call it needs to hook.</summary>
public abstract class DelegatingStore(IMessageStore inner) : IMessageStore
{
    public QueueActivity Activity => inner.Activity;

    public virtual Task<ClaimResult?> ClaimAsync(QueueRef queue, int size, TimeSpan visibilityTimeout, bool mayPark, CancellationToken cancellationToken) =>
        inner.ClaimAsync(queue, size, visibilityTimeout, mayPark, cancellationToken);

    public virtual Task<DateTimeOffset?> NextExpiryAsync(long queueId, DateTimeOffset after, CancellationToken cancellationToken) =>
        inner.NextExpiryAsync(queueId, after, cancellationToken);

    public Task<CreateQueueResult> CreateQueueAsync(string name, int maxQueues, CancellationToken cancellationToken) =>
        inner.CreateQueueAsync(name, maxQueues, cancellationToken);

    public Task<QueueDto?> FindQueueAsync(QueueRef queue, CancellationToken cancellationToken) =>
        inner.FindQueueAsync(queue, cancellationToken);

    public Task<IReadOnlyList<QueueCounts>> ListQueuesAsync(CancellationToken cancellationToken) =>
        inner.ListQueuesAsync(cancellationToken);

    public Task<bool> DeleteQueueAsync(QueueRef queue, CancellationToken cancellationToken) =>
        inner.DeleteQueueAsync(queue, cancellationToken);

    public Task<IReadOnlyList<MessageDto>?> PeekAsync(QueueRef queue, int size, CancellationToken cancellationToken) =>
        inner.PeekAsync(queue, size, cancellationToken);

    public Task<IReadOnlyList<MessageVersion>?> PeekVersionsAsync(QueueRef queue, int size, CancellationToken cancellationToken) =>
        inner.PeekVersionsAsync(queue, size, cancellationToken);

    public Task<SentMessage?> SendAsync(QueueRef queue, string body, CancellationToken cancellationToken) =>
        inner.SendAsync(queue, body, cancellationToken);

    public Task<DeleteMessageResult> DeleteMessageAsync(long id, string? reservationToken, CancellationToken cancellationToken) =>
        inner.DeleteMessageAsync(id, reservationToken, cancellationToken);

    public virtual Task<string?> PingAsync(CancellationToken cancellationToken) => inner.PingAsync(cancellationToken);
}
