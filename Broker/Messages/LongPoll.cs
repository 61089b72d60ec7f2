using Microsoft.Extensions.Options;
using WonderQ.Broker.Storage;
using WonderQ.Shared.Contracts;
using WonderQ.Shared.Validation;

namespace WonderQ.Broker.Messages;

/// <summary>A consume: claim at once, or park until a message can be claimed or the wait runs out.</summary>
public sealed class LongPoll(IMessageStore store, WaitingConsumers waiters, TimeProvider time, IOptions<LimitsOptions> limits)
{
    /// <summary>The claimed messages (possibly none); null when there is no such queue.</summary>
    public async Task<IReadOnlyList<MessageDto>?> ConsumeAsync(
        QueueRef queue, int size, TimeSpan waitTime, TimeSpan visibilityTimeout, CancellationToken cancellationToken)
    {
        var claim = await store.ClaimAsync(queue, size, visibilityTimeout, cancellationToken);
        if (claim is null)
        {
            return null;
        }

        if (claim.Messages.Count > 0 || waitTime <= TimeSpan.Zero || waiters.IsStopping)
        {
            return Passed(claim, size);
        }

        if (waiters.Count >= limits.Value.MaxWaitingConsumers)
        {
            throw new TooManyWaitersException(limits.Value.MaxWaitingConsumers);
        }

        var deadline = time.GetUtcNow() + waitTime;
        var byId = QueueRef.ById(claim.QueueId);
        while (true)
        {
            using var waiter = waiters.Register(claim.QueueId);
            claim = await store.ClaimAsync(byId, size, visibilityTimeout, cancellationToken);
            if (claim is null || claim.Messages.Count > 0)
            {
                return claim is null ? [] : Passed(claim, size);
            }

            var remaining = deadline - time.GetUtcNow();
            if (remaining <= TimeSpan.Zero)
            {
                return [];
            }

            if (await waiter.WaitAsync(remaining, cancellationToken) != WaitingConsumers.WakeReason.Signaled)
            {
                return [];
            }
        }
    }

    /// <summary>
    /// A full batch means more may be waiting (an expiry wakes only one consumer): pass the turn on to the next
    /// waiter rather than leave it asleep beside retrievable messages.
    /// </summary>
    private IReadOnlyList<MessageDto> Passed(ClaimResult claim, int size)
    {
        if (claim.Messages.Count == size && waiters.Count > 0)
        {
            waiters.Wake(claim.QueueId, 1);
        }

        return claim.Messages;
    }
}

/// <summary>The broker already holds as many waiting consumers as it is allowed; answered 503 so the client retries.</summary>
public sealed class TooManyWaitersException(int limit)
    : Exception($"The broker is holding its maximum of {limit} waiting consumers (Limits:MaxWaitingConsumers). Retry shortly, or consume with a shorter wait_time.");
