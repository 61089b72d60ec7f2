using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using WonderQ.Broker.Messages;
using WonderQ.Broker.Storage;
using WonderQ.Broker.Storage.Sqlite;
using WonderQ.Broker.Tests.Storage;
using WonderQ.Shared.Contracts;
using WonderQ.Shared.Validation;

namespace WonderQ.Broker.Tests.Messages;

/// <summary>
/// A long poll that finds nothing parks, and looks again only if something may have changed since its claim: a
/// publish, a reservation running out, the queue's deletion landing between the claim and the parking must still
/// reach it. The store is the real one, with a hook that makes those land in exactly that gap.
/// </summary>
public class ParkingTests : FreshBroker
{
    private static readonly TimeSpan _wait = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan _visibility = TimeSpan.FromSeconds(30);

    public ParkingTests()
    {
    }

    protected ParkingTests(BrokerApplication app)
        : base(app)
    {
    }

    [Fact]
    public async Task A_consumer_parking_on_an_idle_queue_claims_once_and_still_gets_the_next_message()
    {
        var queue = await Client.CreateQueueAsync();
        var store = new HookedStore(App.Services.GetRequiredService<IMessageStore>());

        var consume = ConsumeAsync(LongPoll(store), queue.Id);
        await AsleepAsync(queue.Id);

        store.Claims.Should().Be(1, "nothing changed on the queue between its claim and its parking");
        var id = await Client.SendAsync(queue.Id, "for the parked consumer");
        (await consume.WaitAsync(TimeSpan.FromSeconds(10))).Should().ContainSingle().Which.Id.Should().Be(id);
    }

    [Fact]
    public async Task A_message_published_between_the_claim_and_the_parking_is_received()
    {
        var queue = await Client.CreateQueueAsync();
        var inner = App.Services.GetRequiredService<IMessageStore>();
        long id = 0;
        var store = new HookedStore(inner)
        {
            // Its announcement finds no one parked yet: only the change count tells the consumer to look again.
            AfterFirstClaim = async () =>
            {
                var announced = Announced(h => inner.Activity.Published += (queueId, _) => h(queueId), queue.Id);
                id = (await inner.SendAsync(QueueRef.ById(queue.Id), "in the gap", CancellationToken.None))!.Id;
                await announced;
            },
        };

        var messages = await ConsumeAsync(LongPoll(store), queue.Id)
            .WaitAsync(TimeSpan.FromSeconds(10));

        messages.Should().ContainSingle().Which.Id.Should().Be(id);
        store.Claims.Should().Be(2);
    }

    [Fact]
    public async Task A_reservation_running_out_between_the_claim_and_the_parking_is_received()
    {
        var queue = await Client.CreateQueueAsync();
        var id = await Client.SendAsync(queue.Id, "reserved by another");
        (await Client.ConsumeAsync(queue.Id, visibilityTimeout: 5)).Should().ContainSingle();
        var store = new HookedStore(App.Services.GetRequiredService<IMessageStore>())
        {
            AfterFirstClaim = () =>
            {
                Clock.Advance(TimeSpan.FromSeconds(10));
                return Task.CompletedTask;
            },
        };

        var messages = await ConsumeAsync(LongPoll(store), queue.Id)
            .WaitAsync(TimeSpan.FromSeconds(10));

        messages.Should().ContainSingle().Which.Should().Match<MessageDto>(m => m.Id == id && m.ReceiveCount == 2);
    }

    [Fact]
    public async Task A_queue_deleted_between_the_claim_and_the_parking_ends_the_wait_at_once()
    {
        var queue = await Client.CreateQueueAsync();
        var inner = App.Services.GetRequiredService<IMessageStore>();
        var store = new HookedStore(inner)
        {
            AfterFirstClaim = async () =>
            {
                var announced = Announced(h => inner.Activity.QueueDeleted += h, queue.Id);
                await inner.DeleteQueueAsync(QueueRef.ById(queue.Id), CancellationToken.None);
                await announced;
            },
        };

        var messages = await ConsumeAsync(LongPoll(store), queue.Id)
            .WaitAsync(TimeSpan.FromSeconds(10));

        messages.Should().BeEmpty();
        Waiters.Count.Should().Be(0);
    }

    [Fact]
    public async Task Consumers_arriving_at_an_idle_queue_park_on_its_last_empty_look_and_each_gets_a_message()
    {
        var queue = await Client.CreateQueueAsync();
        var store = new HookedStore(App.Services.GetRequiredService<IMessageStore>());
        var longPoll = LongPoll(store);

        var first = ConsumeAsync(longPoll, queue.Id);
        await AsleepAsync(queue.Id);
        var second = ConsumeAsync(longPoll, queue.Id);
        await AsleepAsync(queue.Id, count: 2);

        store.Claims.Should().Be(1, "nothing changed on the queue since the first consumer found it empty");
        var sent = new[] { await Client.SendAsync(queue.Id, "one"), await Client.SendAsync(queue.Id, "two") };
        var received = (await Task.WhenAll(first, second).WaitAsync(TimeSpan.FromSeconds(10))).SelectMany(m => m!).Select(m => m.Id);
        received.Should().BeEquivalentTo(sent);
    }

    [Fact]
    public async Task A_message_sent_after_the_last_empty_look_is_received_by_the_next_consumer_at_once()
    {
        var queue = await Client.CreateQueueAsync();
        var longPoll = LongPoll(App.Services.GetRequiredService<IMessageStore>());
        await EmptyLookAsync(longPoll, queue.Id);

        var id = await Client.SendAsync(queue.Id, "sent while no one waited");

        var messages = await ConsumeAsync(longPoll, queue.Id)
            .WaitAsync(TimeSpan.FromSeconds(10));
        messages.Should().ContainSingle().Which.Id.Should().Be(id);
    }

    [Fact]
    public async Task A_reservation_that_ran_out_after_the_last_empty_look_is_received_by_the_next_consumer_at_once()
    {
        var queue = await Client.CreateQueueAsync();
        var id = await Client.SendAsync(queue.Id, "reserved by another");
        (await Client.ConsumeAsync(queue.Id, visibilityTimeout: 10)).Should().ContainSingle();
        var longPoll = LongPoll(App.Services.GetRequiredService<IMessageStore>());
        await EmptyLookAsync(longPoll, queue.Id);

        Clock.Advance(TimeSpan.FromSeconds(10));

        var messages = await ConsumeAsync(longPoll, queue.Id)
            .WaitAsync(TimeSpan.FromSeconds(10));
        messages.Should().ContainSingle().Which.Should().Match<MessageDto>(m => m.Id == id && m.ReceiveCount == 2);
    }

    [Fact]
    public async Task A_queue_deleted_after_the_last_empty_look_is_not_found_by_the_next_consumer()
    {
        var queue = await Client.CreateQueueAsync();
        var store = App.Services.GetRequiredService<IMessageStore>();
        var longPoll = LongPoll(store);
        await EmptyLookAsync(longPoll, queue.Id);

        (await store.DeleteQueueAsync(QueueRef.ById(queue.Id), CancellationToken.None)).Should().BeTrue();

        var messages = await ConsumeAsync(longPoll, queue.Id)
            .WaitAsync(TimeSpan.FromSeconds(10));
        messages.Should().BeNull("there is no such queue any more");
    }

    [Fact]
    public async Task The_last_empty_look_at_a_queue_is_not_taken_for_another_queue_that_shares_its_slot()
    {
        // Last looks are kept in 256 slots by queue, and queues 256 ids apart share one.
        var queue = await Client.CreateQueueAsync();
        for (var i = 0; i < 255; i++)
        {
            await Client.CreateQueueAsync();
        }

        var other = await Client.CreateQueueAsync();
        (QueueRef.ById(other.Id).GetHashCode() & 255).Should().Be(QueueRef.ById(queue.Id).GetHashCode() & 255);
        var id = await Client.SendAsync(other.Id, "waiting on the other queue");
        var longPoll = LongPoll(App.Services.GetRequiredService<IMessageStore>());
        await EmptyLookAsync(longPoll, queue.Id);

        var messages = await ConsumeAsync(longPoll, other.Id)
            .WaitAsync(TimeSpan.FromSeconds(10));
        messages.Should().ContainSingle().Which.Id.Should().Be(id);
    }

    [Fact]
    public async Task A_consumer_arriving_the_moment_a_reservation_runs_out_after_the_last_empty_look_receives_it_at_once()
    {
        var queue = await Client.CreateQueueAsync();
        var id = await Client.SendAsync(queue.Id, "reserved by another");
        var reserved = (await Client.ConsumeAsync(queue.Id, visibilityTimeout: 10)).Should().ContainSingle().Subject;
        var longPoll = LongPoll(App.Services.GetRequiredService<IMessageStore>());
        await EmptyLookAsync(longPoll, queue.Id);

        // To the very millisecond its reservation ends, when the message is retrievable again.
        Clock.Advance(reserved.RetrievableAt!.Value - Clock.GetUtcNow());

        var messages = await ConsumeAsync(longPoll, queue.Id)
            .WaitAsync(TimeSpan.FromSeconds(10));
        messages.Should().ContainSingle().Which.Should().Match<MessageDto>(m => m.Id == id && m.ReceiveCount == 2);
    }

    [Fact]
    public async Task A_wake_up_passes_over_a_consumer_whose_wait_ran_out_but_that_has_not_left_yet()
    {
        var queue = await Client.CreateQueueAsync();
        using var leaving = Waiters.Register(queue.Id, 1, _visibility);
        using var next = Waiters.Register(queue.Id, 1, _visibility);
        var leavingWait = leaving.WaitAsync(TimeSpan.FromSeconds(1), CancellationToken.None);
        var nextWait = next.WaitAsync(_wait, CancellationToken.None);
        Clock.Advance(TimeSpan.FromSeconds(1));
        (await leavingWait.WaitAsync(TimeSpan.FromSeconds(10))).Should().Be(WaitingConsumers.WakeReason.TimedOut);

        // Still first in line until it leaves. A wake-up spent on it would be lost: the next consumer would sleep until
        // its own wait_time ran out beside the message it was meant for (a relay after an expiry, a store back from an
        // outage, a publish to a consumer still running its own claim).
        Waiters.Wake(queue.Id, 1, WaitingConsumers.WakeReason.Signaled);

        (await nextWait.WaitAsync(TimeSpan.FromSeconds(10))).Should().Be(WaitingConsumers.WakeReason.Signaled);
    }

    /// <summary>A long poll for one message that waits up to 20 s.</summary>
    private static Task<IReadOnlyList<MessageDto>?> ConsumeAsync(LongPoll longPoll, long queueId) =>
        longPoll.ConsumeAsync(QueueRef.ById(queueId), 1, _wait, _visibility, CancellationToken.None);

    /// <summary>A one-second long poll that parks on the empty queue and runs out: its look is the last one taken.</summary>
    private async Task EmptyLookAsync(LongPoll longPoll, long queueId)
    {
        var consume = longPoll.ConsumeAsync(QueueRef.ById(queueId), 1, TimeSpan.FromSeconds(1), _visibility, CancellationToken.None);
        await AsleepAsync(queueId);
        (await AdvanceUntilAnsweredAsync(consume, TimeSpan.FromSeconds(1))).Should().BeEmpty();
    }

    [Fact]
    public async Task A_consumer_woken_by_an_expiry_whose_client_leaves_before_it_looks_passes_the_wake_up_on()
    {
        var queue = await Client.CreateQueueAsync();
        var id = await Client.SendAsync(queue.Id, "back after 10 s");
        (await Client.ConsumeAsync(queue.Id, visibilityTimeout: 10)).Should().ContainSingle();
        var store = new HookedStore(App.Services.GetRequiredService<IMessageStore>());
        var longPoll = LongPoll(store);
        var first = longPoll.ConsumeAsync(QueueRef.ById(queue.Id), 1, _wait, _visibility, CancellationToken.None);
        await AsleepAsync(queue.Id, 1);
        var second = longPoll.ConsumeAsync(QueueRef.ById(queue.Id), 1, _wait, _visibility, CancellationToken.None);
        await AsleepAsync(queue.Id, 2);
        store.CancelNextClaim = true;

        // The expiry wakes the first, whose look is cancelled as if its client had gone.
        Clock.Advance(TimeSpan.FromSeconds(10));

        await FluentActions.Awaiting(() => first.WaitAsync(TimeSpan.FromSeconds(10))).Should().ThrowAsync<OperationCanceledException>();
        (await second.WaitAsync(TimeSpan.FromSeconds(10))).Should().ContainSingle().Which.Id.Should().Be(id);
    }

    [Fact]
    public async Task A_consumer_woken_for_a_message_whose_client_leaves_before_it_sleeps_passes_the_wake_up_on()
    {
        var queue = await Client.CreateQueueAsync();
        var store = new HeldLooks(App.Services.GetRequiredService<IMessageStore>());

        // As on PostgreSQL while its line to other brokers is down: every consumer looks again once parked, so a send
        // can find both still between that look and their sleep, and wakes the first in line instead of claiming for it.
        store.Activity.Deaf = true;
        var longPoll = LongPoll(store);
        using var leaves = new CancellationTokenSource();
        var first = longPoll.ConsumeAsync(QueueRef.ById(queue.Id), 1, _wait, _visibility, leaves.Token);
        await Eventually.TrueAsync(() => store.Held == 1, "the first consumer has looked once parked");
        var second = ConsumeAsync(longPoll, queue.Id);
        await Eventually.TrueAsync(() => store.Held == 2, "the second consumer has looked once parked");

        var id = await Client.SendAsync(queue.Id, "for whichever consumer is still there");
        await Eventually.TrueAsync(() => Waiters.Count == 1, "the send woke the first consumer");
        await leaves.CancelAsync();
        await FluentActions.Awaiting(() => first.WaitAsync(TimeSpan.FromSeconds(10))).Should().ThrowAsync<OperationCanceledException>();
        store.Release();

        // No time passes on the broker's clock: without the wake-up the second would sleep out its 20 s.
        (await second.WaitAsync(TimeSpan.FromSeconds(10))).Should().ContainSingle().Which.Id.Should().Be(id);
    }

    [Fact]
    public async Task Two_messages_published_in_one_commit_while_two_consumers_are_about_to_sleep_reach_both()
    {
        var queue = await Client.CreateQueueAsync();
        var store = new HeldLooks(App.Services.GetRequiredService<IMessageStore>());
        store.Activity.Deaf = true;
        var longPoll = LongPoll(store);
        var first = ConsumeAsync(longPoll, queue.Id);
        await Eventually.TrueAsync(() => store.Held == 1, "the first consumer has looked once parked");
        var second = ConsumeAsync(longPoll, queue.Id);
        await Eventually.TrueAsync(() => store.Held == 2, "the second consumer has looked once parked");

        var sent = await PublishTogetherAsync(queue.Id, "one", "two");
        await Eventually.TrueAsync(() => Waiters.Count == 0, "the commit woke both consumers", TimeSpan.FromSeconds(10));
        store.Release();

        var received = (await Task.WhenAll(first, second).WaitAsync(TimeSpan.FromSeconds(10))).SelectMany(m => m!).Select(m => m.Id);
        received.Should().BeEquivalentTo(sent.Select(m => m!.Id));
    }

    /// <summary>Sends the bodies in one commit, as the writer gathers sends that arrive together into one batch.</summary>
    protected virtual async Task<SentMessage?[]> PublishTogetherAsync(long queueId, params string[] bodies)
    {
        var writer = App.Services.GetRequiredService<SqliteCommitWriter>();
        var hold = new HoldOperation();
        var held = writer.RunAsync(hold);
        await hold.Entered.WaitAsync(TimeSpan.FromSeconds(10));
        var sends = bodies.Select(body => writer.RunAsync(new SendOperation(QueueRef.ById(queueId), body, CancellationToken.None))).ToList();
        hold.Release.Set();
        await held;
        return await Task.WhenAll(sends);
    }

    private LongPoll LongPoll(IMessageStore store) =>
        new(store, Waiters, App.Services.GetRequiredService<StoreClock>(), App.Services.GetRequiredService<IOptions<LimitsOptions>>());

    /// <summary>
    /// Completes once the store has announced a change to the queue: a request is answered just before its
    /// announcement, and the consumer must not park before it, or the announcement would simply wake it.
    /// </summary>
    private static Task Announced(Action<Action<long>> subscribe, long queueId)
    {
        var announced = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        subscribe(id =>
        {
            if (id == queueId)
            {
                announced.TrySetResult();
            }
        });
        return announced.Task;
    }

    /// <summary>
    /// The broker's own store, whose looks once parked are answered only when released (a cancelled one throws): the
    /// moment between a consumer's last look and its sleep, held open.
    /// </summary>
    private sealed class HeldLooks(IMessageStore inner) : DelegatingStore(inner)
    {
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _held;

        public int Held => Volatile.Read(ref _held);

        public void Release() => _released.TrySetResult();

        public override async Task<ClaimResult?> ClaimAsync(QueueRef queue, int size, TimeSpan visibilityTimeout, bool mayPark, CancellationToken cancellationToken)
        {
            var claim = await base.ClaimAsync(queue, size, visibilityTimeout, mayPark, cancellationToken);
            if (!mayPark && !_released.Task.IsCompleted)
            {
                Interlocked.Increment(ref _held);
                await _released.Task.WaitAsync(cancellationToken);
            }

            return claim;
        }
    }

    /// <summary>The broker's own store, counting claims, with a hook run after the first one returns.</summary>
    private sealed class HookedStore(IMessageStore inner) : DelegatingStore(inner)
    {
        private int _claims;

        public Func<Task>? AfterFirstClaim { get; init; }

        public int Claims => Volatile.Read(ref _claims);

        /// <summary>The next claim throws as a cancelled request's would, without reaching the store.</summary>
        public bool CancelNextClaim { get; set; }

        public override async Task<ClaimResult?> ClaimAsync(QueueRef queue, int size, TimeSpan visibilityTimeout, bool mayPark, CancellationToken cancellationToken)
        {
            if (CancelNextClaim)
            {
                CancelNextClaim = false;
                throw new OperationCanceledException();
            }

            var claim = await base.ClaimAsync(queue, size, visibilityTimeout, mayPark, cancellationToken);
            if (Interlocked.Increment(ref _claims) == 1 && AfterFirstClaim is { } hook)
            {
                await hook();
            }

            return claim;
        }
    }
}

/// <summary>
/// The same on PostgreSQL, whose store answers the parking consumer's questions (what changed since its claim, when the
/// next reservation runs out, whether the queue is still there) with SQL of its own.
/// </summary>
public sealed class ParkingOnPostgresTests() : ParkingTests(BrokerApplication.OnPostgres())
{
    /// <summary>Sent together, so that they go in as one batch of sends when they can (PostgresSends).</summary>
    protected override Task<SentMessage?[]> PublishTogetherAsync(long queueId, params string[] bodies)
    {
        var store = App.Services.GetRequiredService<IMessageStore>();
        return Task.WhenAll(bodies.Select(body => store.SendAsync(QueueRef.ById(queueId), body, CancellationToken.None)));
    }
}
