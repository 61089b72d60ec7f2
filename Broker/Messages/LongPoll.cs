using Microsoft.Extensions.Options;
using WonderQ.Broker.Storage;
using WonderQ.Shared.Contracts;
using WonderQ.Shared.Validation;

namespace WonderQ.Broker.Messages;

/// <summary>A consume: claim at once, or park until a message can be claimed or the wait runs out.</summary>
public sealed class LongPoll(IMessageStore store, WaitingConsumers waiters, StoreClock time, IOptions<LimitsOptions> limits)
{
    // The last empty look at each queue, in slots by queue so that it does not grow with the queues asked for. A
    // consumer that arrives while it still stands parks without a trip through the writer: 10,000 consumers re-polling
    // an idle queue otherwise put that many claims ahead of the sends that arrive among them.
    private readonly EmptyLook?[] _emptyLooks = new EmptyLook?[256];

    // Consumers admitted to wait, against Limits:MaxWaitingConsumers.
    private int _places;

    /// <summary>Whether the broker has begun to stop, when waiting consumers are answered with what they have.</summary>
    public bool IsStopping => waiters.IsStopping;

    /// <summary>The claimed messages (possibly none); null when there is no such queue.</summary>
    public async Task<IReadOnlyList<MessageDto>?> ConsumeAsync(
        QueueRef queue, int size, TimeSpan waitTime, TimeSpan visibilityTimeout, CancellationToken cancellationToken)
    {
        // The wait is measured on the monotonic timestamp, not the wall clock, which can be stepped back (NTP, a VM
        // resumed): a consumer woken for nothing after such a step would otherwise wait that much longer. From here,
        // so that a first look held up behind the writer counts as part of the wait.
        var started = time.GetTimestamp();
        var claim = waitTime > TimeSpan.Zero
            ? await FirstLookAsync(queue, size, visibilityTimeout, cancellationToken)
            : await store.ClaimAsync(queue, size, visibilityTimeout, mayPark: false, cancellationToken);
        if (claim is null)
        {
            return null;
        }

        if (claim.Messages.Count > 0 || waitTime <= TimeSpan.Zero || waiters.IsStopping)
        {
            return claim.Messages;
        }

        // A place under the cap, taken and checked in one step and held until the consumer is answered. The count of
        // parked waiters will not do: a consumer taken for a claim in a publish's commit, or woken to claim, has left
        // it while it still waits, and a newcomer could take its place.
        if (Interlocked.Increment(ref _places) > limits.Value.MaxWaitingConsumers)
        {
            Interlocked.Decrement(ref _places);
            throw new TooManyWaitersException(limits.Value.MaxWaitingConsumers);
        }

        try
        {
            var byId = QueueRef.ById(claim.QueueId);
            var wokenBy = WaitingConsumers.WakeReason.Signaled;
            var woken = false;
            long? arrival = null;
            ClaimResult? emptyLook = claim;
            while (true)
            {
                // Parked before it looks (again), so that a publish landing in between wakes it. The look is skipped
                // when the empty claim that went before parking still stands, as it does after FirstLookAsync found one
                // standing.
                using var waiter = waiters.Register(claim.QueueId, size, visibilityTimeout, arrival);
                arrival = waiter.Arrival;
                if (emptyLook is null || !NothingNewSince(emptyLook))
                {
                    try
                    {
                        claim = await NullOnShutdownAsync(store.ClaimAsync(byId, size, visibilityTimeout, mayPark: false, cancellationToken));
                    }
                    catch (Exception) when (woken)
                    {
                        // Woken to look, but its client left or its claim failed: the next waiter looks instead, or what
                        // woke this one would wait for the next change on the queue. (A waiter that leaves before it
                        // acts on its wake-up hands it on the same way, in WaitingConsumers.Leave; this one has left.)
                        waiters.Wake(byId.Id!.Value, 1, wokenBy);
                        throw;
                    }

                    if (claim is null || claim.Messages.Count > 0)
                    {
                        return claim is null ? [] : PassTurnOn(claim, size, wokenBy);
                    }
                }

                emptyLook = null;

                var remaining = waitTime - time.GetElapsedTime(started);
                if (remaining <= TimeSpan.Zero)
                {
                    return [];
                }

                wokenBy = await waiter.WaitAsync(remaining, cancellationToken);
                if (wokenBy == WaitingConsumers.WakeReason.HandedOff)
                {
                    // Not cancelled even if the client has gone: the claim is already in a commit, and is answered within it.
                    claim = await NullOnShutdownAsync(waiter.HandedOver);
                    if (claim is null || claim.Messages.Count > 0)
                    {
                        return claim?.Messages ?? [];
                    }

                    // A claim earlier in the same commit took the message: look again, like any woken waiter.
                    wokenBy = WaitingConsumers.WakeReason.Signaled;
                }

                if (wokenBy is not (WaitingConsumers.WakeReason.Signaled or WaitingConsumers.WakeReason.Expired))
                {
                    return [];
                }

                woken = true;
            }
        }
        finally
        {
            Interlocked.Decrement(ref _places);
        }
    }

    private async Task<ClaimResult?> FirstLookAsync(QueueRef queue, int size, TimeSpan visibilityTimeout, CancellationToken cancellationToken)
    {
        var slot = queue.GetHashCode() & 255;
        if (Volatile.Read(ref _emptyLooks[slot]) is { } last && last.Queue == queue && NothingNewSince(last.Claim))
        {
            return last.Claim;
        }

        var claim = await store.ClaimAsync(queue, size, visibilityTimeout, mayPark: true, cancellationToken);
        if (claim is { Messages.Count: 0 })
        {
            Volatile.Write(ref _emptyLooks[slot], new EmptyLook(queue, claim));
        }

        return claim;
    }

    /// <summary>
    /// Whether a claim now could find nothing that <paramref name="empty"/> did not: no publish, reservation or deletion
    /// on its queue since, none of its reservations run out yet, and on a shared store the look not too old to trust.
    /// (Checked again once parked, so that any later change or expiry wakes the consumer.)
    /// </summary>
    private bool NothingNewSince(ClaimResult empty) =>
        !store.Activity.Deaf
        && store.Activity.ChangesTo(empty.QueueId) == empty.ChangesSeen
        && (empty.StandsUntil is not { } until || until > time.GetUtcNow())
        && (empty.TrustedUntil is not { } trusted || time.GetTimestamp() < trusted);

    private sealed record EmptyLook(QueueRef Queue, ClaimResult Claim);

    private async Task<ClaimResult?> NullOnShutdownAsync(Task<ClaimResult?> claim)
    {
        try
        {
            return await claim;
        }
        catch (StoreUnavailableException) when (waiters.IsStopping)
        {
            // Woken by shutdown after the writer stopped taking work: the answer for a shutdown is [], not a 503,
            // which the caller gives for null as for a queue deleted under it.
            return null;
        }
    }

    /// <summary>
    /// An expiry wakes one waiter however many reservations ran out. If that waiter filled its batch (its size, or the
    /// bytes it may take), more may be retrievable: it passes the turn to the next waiter rather than leave it asleep
    /// beside them. (A publish wakes one waiter per message, so it needs no such relay.)
    /// </summary>
    private IReadOnlyList<MessageDto> PassTurnOn(ClaimResult claim, int size, WaitingConsumers.WakeReason wokenBy)
    {
        if (wokenBy == WaitingConsumers.WakeReason.Expired && (claim.Messages.Count == size || claim.CutShort))
        {
            waiters.Wake(claim.QueueId, 1, WaitingConsumers.WakeReason.Expired);
        }

        return claim.Messages;
    }
}

/// <summary>The broker already holds as many waiting consumers as it is allowed; answered 503 so the client retries.</summary>
public sealed class TooManyWaitersException(int limit)
    : Exception($"The broker is holding its maximum of {limit} waiting consumers (Limits:MaxWaitingConsumers). Retry shortly, or consume with a shorter wait_time.");
