using WonderQ.Broker.Storage;

namespace WonderQ.Broker.Messages;

/// <summary>
/// The consumers parked in a long poll, per queue, in arrival order. A publish hands each new message to one
/// waiter (not all of them): the store claims it for the waiter in the commit that publishes it, or wakes the waiter
/// to claim it. A reservation running out wakes one waiter at its expiry time. Nothing polls the database: a waiter
/// sleeps until one of those events, its own deadline, or shutdown.
/// </summary>
public sealed class WaitingConsumers : IParkedConsumers, IDisposable
{
    // The longest an expiry timer is set for; one that fires short of its expiry is set again for the rest. The timer
    // counts on the monotonic clock but the expiry is a wall-clock time: after the wall clock steps forward past it, the
    // waiters sleep on until the timer fires, which without this cap would be when their own wait_time ends. It also
    // keeps every timer under the longest one can be set for (49.7 days), which a clock stepped back further than that
    // would pass: a timer set for longer throws, in its own callback, where nothing catches it.
    private const double LongestDueMilliseconds = 5_000;

    private readonly Dictionary<long, QueueWaiters> _queues = [];
    private readonly Lock _lock = new();
    private readonly IMessageStore _store;
    private readonly StoreClock _time;
    private readonly ILogger<WaitingConsumers> _logger;
    private readonly CancellationTokenRegistration _stopping;
    private bool _stopped;
    private int _count;
    private long _arrivals;

    public WaitingConsumers(IMessageStore store, StoreClock time, IHostApplicationLifetime lifetime, ILogger<WaitingConsumers> logger)
    {
        _store = store;
        _time = time;
        _logger = logger;
        store.Activity.Published += (queueId, count) => Wake(queueId, count, WakeReason.Signaled);
        store.Activity.Reserved += OnReserved;
        store.Activity.QueueDeleted += queueId => Release(queueId, WakeReason.QueueDeleted);
        store.Activity.Unannounced += WakeAll;
        store.Activity.Parked = this;
        _stopping = lifetime.ApplicationStopping.Register(ReleaseAll);
    }

    public enum WakeReason
    {
        /// <summary>A message was published for this waiter.</summary>
        Signaled,

        /// <summary>The store claimed for this waiter in the commit that published; the claim is in <see cref="Waiter.HandedOver"/>.</summary>
        HandedOff,

        /// <summary>A reservation ran out; one waiter is woken, and it passes the turn on if it finds more.</summary>
        Expired,
        TimedOut,
        Cancelled,
        QueueDeleted,
        ShuttingDown,
    }

    /// <summary>How many consumers are waiting right now.</summary>
    public int Count => Volatile.Read(ref _count);

    public bool IsStopping => Volatile.Read(ref _stopped);

    /// <summary>
    /// Parks a consumer on a queue. Register before looking at the queue, so that a publish landing between the look
    /// and the wait still wakes it. A consumer that parks again after a wake-up that brought it nothing gives the
    /// <see cref="Waiter.Arrival"/> of its first registration and takes its place in line back: at the back, the
    /// longest-waiting consumers lost their turn to every newer one, each time a claim outside the hand-over (a
    /// newcomer's, in the same commit) took the message they were woken for, and could wait out their wait_time while
    /// messages went to consumers that came after them.
    /// </summary>
    public Waiter Register(long queueId, int size, TimeSpan visibilityTimeout, long? arrival = null)
    {
        var waiter = new Waiter(this, queueId, size, visibilityTimeout, arrival ?? Interlocked.Increment(ref _arrivals));
        var registeredAt = _time.GetUtcNow();
        bool lookUpExpiry;
        lock (_lock)
        {
            if (_stopped)
            {
                waiter.TryWake(WakeReason.ShuttingDown);
                return waiter;
            }

            if (!_queues.TryGetValue(queueId, out var queue))
            {
                _queues[queueId] = queue = new QueueWaiters(queueId);
            }

            waiter.Node = InLine(queue.Waiters, waiter);
            _count++;
            lookUpExpiry = queue.ExpiryTimer is null && !queue.LookingUpExpiry;
            queue.LookingUpExpiry |= lookUpExpiry;
        }

        if (lookUpExpiry)
        {
            // The caller claims after registering, so that claim sees every reservation that ran out by then (or
            // knows that none has since its claim before); the look-up must find every one running out later, even
            // one that runs out before the look-up itself.
            _ = ScheduleNextExpiryAsync(queueId, registeredAt);
        }

        return waiter;
    }

    /// <summary>
    /// Adds the waiter by arrival. A newcomer is the latest and goes last; one back from a wake-up was at or near the
    /// front, so the search for its place starts there.
    /// </summary>
    private static LinkedListNode<Waiter> InLine(LinkedList<Waiter> line, Waiter waiter)
    {
        if (line.Last is not { } last || last.Value.Arrival < waiter.Arrival)
        {
            return line.AddLast(waiter);
        }

        var next = line.First!;
        while (next.Value.Arrival < waiter.Arrival)
        {
            next = next.Next!;
        }

        return line.AddBefore(next, waiter);
    }

    /// <summary>Wakes up to <paramref name="count"/> waiters of a queue, oldest first.</summary>
    public void Wake(long queueId, int count, WakeReason reason)
    {
        lock (_lock)
        {
            if (!_queues.TryGetValue(queueId, out var queue))
            {
                return;
            }

            while (count > 0 && queue.Waiters.First is { } first)
            {
                Remove(queue, first);
                if (first.Value.TryWake(reason))
                {
                    count--;
                }
            }

            DropIfIdle(queue);
        }
    }

    /// <summary>
    /// Wakes the first waiter of every queue to look again; as after an expiry, one that fills its batch passes the turn
    /// on (LongPoll.PassTurnOn), so a store back from an outage is not met by every waiter's claim at once.
    /// </summary>
    private void WakeAll()
    {
        List<long> queueIds;
        lock (_lock)
        {
            queueIds = [.. _queues.Keys];
        }

        foreach (var queueId in queueIds)
        {
            Wake(queueId, 1, WakeReason.Expired);
        }
    }

    /// <summary>How many of a queue's waiters are asleep, past their own claim: those a publish can claim for.</summary>
    internal int AsleepOn(long queueId)
    {
        lock (_lock)
        {
            return _queues.TryGetValue(queueId, out var queue) ? queue.Waiters.Count(w => w.IsAsleep) : 0;
        }
    }

    /// <summary>
    /// Only waiters already asleep are taken: one still running its own claim would get a second batch besides.
    /// The others stay in line, for the wake-up that follows the commit.
    /// </summary>
    public IReadOnlyList<IParkedConsumer> Take(long queueId, int messages)
    {
        lock (_lock)
        {
            if (!_queues.TryGetValue(queueId, out var queue))
            {
                return [];
            }

            List<IParkedConsumer>? taken = null;
            for (var node = queue.Waiters.First; node is not null && messages > 0;)
            {
                var next = node.Next;
                if (node.Value.TryTake())
                {
                    Remove(queue, node);
                    (taken ??= []).Add(node.Value);
                    messages -= node.Value.Size;
                }

                node = next;
            }

            DropIfIdle(queue);
            return taken ?? [];
        }
    }

    public void Dispose()
    {
        _stopping.Dispose();
        ReleaseAll();
    }

    private void OnReserved(long queueId, DateTimeOffset until)
    {
        lock (_lock)
        {
            if (_queues.TryGetValue(queueId, out var queue) && (queue.ExpiryAt is null || until < queue.ExpiryAt))
            {
                ArmExpiry(queue, until);
            }
        }
    }

    private async Task ScheduleNextExpiryAsync(long queueId, DateTimeOffset after)
    {
        DateTimeOffset? next = null;
        try
        {
            next = await _store.NextExpiryAsync(queueId, after, CancellationToken.None);
        }
        // Waiters still wake on publishes and their own deadlines; only an early expiry wake-up is missed.
        catch (StoreUnavailableException)
        {
            // The store has logged it, with SQLite's error and at most once per Outages:LogInterval. Logged here too,
            // each failure would be said twice, and once for every consumer that parks while the store stays unreadable.
        }
        catch (Exception ex)
        {
            _logger.LogWarning(ex, "Could not look up the next reservation expiry of queue {QueueId}", queueId);
        }

        lock (_lock)
        {
            if (!_queues.TryGetValue(queueId, out var queue))
            {
                return;
            }

            queue.LookingUpExpiry = false;
            if (next is { } at && (queue.ExpiryAt is null || at < queue.ExpiryAt))
            {
                ArmExpiry(queue, at);
            }

            // Every waiter may have left while the look-up ran; the next to come looks up again.
            DropIfIdle(queue);
        }
    }

    private void ArmExpiry(QueueWaiters queue, DateTimeOffset at)
    {
        // Whole milliseconds, rounded up: a timer would drop the fraction and fire that much early.
        var due = TimeSpan.FromMilliseconds(Math.Clamp(Math.Ceiling(_time.Until(at).TotalMilliseconds), 0, LongestDueMilliseconds));

        queue.ExpiryAt = at;
        queue.ExpiryTimer ??= _time.CreateTimer(_ => OnExpiry(queue), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        queue.ExpiryTimer.Change(due, Timeout.InfiniteTimeSpan);
    }

    private void OnExpiry(QueueWaiters queue)
    {
        bool lookUpNext;
        var firedFor = _time.GetUtcNow();
        lock (_lock)
        {
            if (queue.ExpiryAt is { } at && firedFor < at)
            {
                // Fired early, as a timer may by up to a few milliseconds (it counts whole milliseconds). A waiter
                // woken now would find nothing yet, and the look-up below, which starts after this expiry, would skip
                // the message: every waiter would then sleep through it. Wait for the rest, unless the list is gone.
                if (_queues.TryGetValue(queue.QueueId, out var current) && ReferenceEquals(current, queue))
                {
                    ArmExpiry(queue, at);
                }

                return;
            }

            firedFor = queue.ExpiryAt ?? firedFor;
            queue.ExpiryAt = null;
            queue.ExpiryTimer?.Dispose();
            queue.ExpiryTimer = null;

            // One waiter goes to look; if it finds a full batch it wakes the next (see LongPoll.PassTurnOn).
            while (queue.Waiters.First is { } first)
            {
                Remove(queue, first);
                if (first.Value.TryWake(WakeReason.Expired))
                {
                    break;
                }
            }

            lookUpNext = queue.Waiters.Count > 0 && !queue.LookingUpExpiry;
            queue.LookingUpExpiry |= lookUpNext;
            DropIfIdle(queue);
        }

        if (lookUpNext)
        {
            // The woken waiter claims what ran out up to now; the look-up finds what runs out after this expiry.
            _ = ScheduleNextExpiryAsync(queue.QueueId, firedFor);
        }
    }

    private void Release(long queueId, WakeReason reason)
    {
        lock (_lock)
        {
            if (_queues.TryGetValue(queueId, out var queue))
            {
                while (queue.Waiters.First is { } first)
                {
                    Remove(queue, first);
                    first.Value.TryWake(reason);
                }

                DropIfIdle(queue);
            }
        }
    }

    private void ReleaseAll()
    {
        lock (_lock)
        {
            _stopped = true;
            foreach (var queueId in _queues.Keys.ToList())
            {
                Release(queueId, WakeReason.ShuttingDown);
            }
        }
    }

    /// <summary>A waiter leaves. A wake-up it received but will not act on goes to the next waiter, so none is lost.</summary>
    private void Leave(Waiter waiter, bool actsOnWake)
    {
        lock (_lock)
        {
            if (waiter.Node is { List: not null } node && _queues.TryGetValue(waiter.QueueId, out var queue))
            {
                Remove(queue, node);
                DropIfIdle(queue);
                return;
            }
        }

        if (waiter.Reason is WakeReason.Signaled or WakeReason.Expired && !actsOnWake)
        {
            Wake(waiter.QueueId, 1, waiter.Reason.Value);
        }
    }

    private void Remove(QueueWaiters queue, LinkedListNode<Waiter> node)
    {
        queue.Waiters.Remove(node);
        _count--;
    }

    private void DropIfIdle(QueueWaiters queue)
    {
        if (queue.Waiters.Count == 0 && !queue.LookingUpExpiry)
        {
            queue.ExpiryTimer?.Dispose();

            // A timer's callback can already be running when its timer is disposed, and then drop a list that was
            // dropped before: by then another may stand for the queue, holding waiters that must stay reachable.
            if (_queues.TryGetValue(queue.QueueId, out var current) && ReferenceEquals(current, queue))
            {
                _queues.Remove(queue.QueueId);
            }
        }
    }

    private sealed class QueueWaiters(long queueId)
    {
        public long QueueId { get; } = queueId;
        public LinkedList<Waiter> Waiters { get; } = new();
        public ITimer? ExpiryTimer { get; set; }
        public DateTimeOffset? ExpiryAt { get; set; }
        public bool LookingUpExpiry { get; set; }
    }

    /// <summary>One parked consumer. Dispose it when done; say whether it is going to act on a wake-up it got.</summary>
    public sealed class Waiter : IParkedConsumer, IDisposable
    {
        private const int Registered = 0, Parked = 1, Taken = 2, Woken = 3;

        private readonly WaitingConsumers _owner;
        private readonly TaskCompletionSource<WakeReason> _woken = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _state;
        private Task<ClaimResult?>? _handedOver;
        private bool _actsOnWake;

        internal Waiter(WaitingConsumers owner, long queueId, int size, TimeSpan visibilityTimeout, long arrival)
        {
            _owner = owner;
            QueueId = queueId;
            Size = size;
            VisibilityTimeout = visibilityTimeout;
            Arrival = arrival;
        }

        public long QueueId { get; }

        /// <summary>The consumer's place in line: the order its request first parked in, kept when it parks again.</summary>
        public long Arrival { get; }

        public int Size { get; }

        public TimeSpan VisibilityTimeout { get; }

        /// <summary>After a <see cref="WakeReason.HandedOff"/> wake-up: the claim made for this waiter, done when it commits.</summary>
        public Task<ClaimResult?> HandedOver => _handedOver ?? throw new InvalidOperationException("Nothing was handed over to this waiter.");

        internal LinkedListNode<Waiter>? Node { get; set; }

        internal WakeReason? Reason => _woken.Task.IsCompleted ? _woken.Task.Result : null;

        /// <summary>Waits for a wake-up, the timeout or cancellation, whichever comes first.</summary>
        public async Task<WakeReason> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
        {
            // Asleep from here on, so a publish may claim for it. Taken first, the deadline and cancellation below
            // can no longer wake it: the claim is already running and will be answered.
            Interlocked.CompareExchange(ref _state, Parked, Registered);
            using var timer = _owner._time.CreateTimer(
                static state => ((Waiter)state!).TryWake(WakeReason.TimedOut), this, timeout, Timeout.InfiniteTimeSpan);
            await using var registration = cancellationToken.Register(
                static state => ((Waiter)state!).TryWake(WakeReason.Cancelled), this);
            var reason = await _woken.Task;
            _actsOnWake = reason is WakeReason.Signaled or WakeReason.Expired;
            return reason;
        }

        public void Dispose() => _owner.Leave(this, _actsOnWake);

        void IParkedConsumer.HandOver(Task<ClaimResult?> claim)
        {
            _handedOver = claim;
            _woken.TrySetResult(WakeReason.HandedOff);
        }

        internal bool IsAsleep => Volatile.Read(ref _state) == Parked;

        internal bool TryTake() => Interlocked.CompareExchange(ref _state, Taken, Parked) == Parked;

        internal bool TryWake(WakeReason reason)
        {
            while (Volatile.Read(ref _state) is var state and < Taken)
            {
                if (Interlocked.CompareExchange(ref _state, Woken, state) == state)
                {
                    return _woken.TrySetResult(reason);
                }
            }

            return false;
        }
    }
}
