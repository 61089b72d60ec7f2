using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using WonderQ.Broker.Storage;
using WonderQ.Shared.Contracts;

namespace WonderQ.Broker.Tests.Queues;

/// <summary>GET /queues counts through a message's life: sent, claimed, expired, claimed again, deleted.</summary>
public class QueueCountsTests(SharedBroker broker) : IClassFixture<SharedBroker>
{
    private HttpClient Client => broker.Client;

    private FakeTimeProvider Clock => broker.App.FakeClock;

    [Fact]
    public async Task Counts_follow_send_consume_expiry_and_delete()
    {
        var queue = await Client.CreateQueueAsync();
        await Client.SendAsync(queue.Id, "one");
        await Client.SendAsync(queue.Id, "two");
        await Client.SendAsync(queue.Id, "three");
        var afterSend = await Client.CountsAsync(queue.Id);

        var claimed = await Client.ConsumeAsync(queue.Id, size: 2, visibilityTimeout: 30);
        var afterConsume = await Client.CountsAsync(queue.Id);

        Clock.Advance(TimeSpan.FromSeconds(31));
        var afterExpiry = await Client.CountsAsync(queue.Id);

        var reclaimed = await Client.ConsumeAsync(queue.Id, size: 1, visibilityTimeout: 30);
        var afterReclaim = await Client.CountsAsync(queue.Id);

        using var deleted = await Client.DeleteMessageAsync(reclaimed.Single().Id, reclaimed.Single().ReservationToken);
        var afterDelete = await Client.CountsAsync(queue.Id);

        afterSend.Should().Be(new QueueCounts(queue.Id, queue.Name, 3, 3, 0));
        claimed.Should().HaveCount(2);
        afterConsume.Should().Be(new QueueCounts(queue.Id, queue.Name, 3, 1, 2));
        afterExpiry.Should().Be(new QueueCounts(queue.Id, queue.Name, 3, 3, 0));
        afterReclaim.Should().Be(new QueueCounts(queue.Id, queue.Name, 3, 2, 1));
        afterDelete.Should().Be(new QueueCounts(queue.Id, queue.Name, 2, 2, 0));
    }

    [Fact]
    public async Task Peeking_does_not_change_the_counts()
    {
        var queue = await Client.CreateQueueAsync();
        await Client.SendAsync(queue.Id, "looked at");

        await Client.PeekAsync(queue.Id);
        var counts = await Client.CountsAsync(queue.Id);

        counts.Should().Be(new QueueCounts(queue.Id, queue.Name, 1, 1, 0));
    }
}

/// <summary>The same on PostgreSQL: the contract both stores keep.</summary>
public sealed class QueueCountsOnPostgresTests(PostgresSharedBroker broker) : QueueCountsTests(broker), IClassFixture<PostgresSharedBroker>;

/// <summary>
/// GET /queues counts as in flight the messages whose visible_at lies after its "now". A send stamped a moment after
/// that reading and committed before the counts are read would be counted so, though no one has consumed it: the
/// clock is read once the read's snapshot is taken, which such a send is not in.
/// </summary>
public class CountsDuringASendTests : FreshBroker
{
    private readonly SendOnCountClock _clock;

    public CountsDuringASendTests()
        : this(new SendOnCountClock(), clock => new BrokerApplication(clock: clock))
    {
    }

    protected CountsDuringASendTests(SendOnCountClock clock, Func<FakeTimeProvider, BrokerApplication> app)
        : base(app(clock)) => _clock = clock;

    [Fact]
    public async Task A_send_committed_while_the_counts_are_read_is_not_counted_as_in_flight()
    {
        var queue = await Client.CreateQueueAsync();
        var sentAt = Clock.GetUtcNow() + TimeSpan.FromMilliseconds(1);

        // The row a send commits when it reads the clock a millisecond after the counts did, written straight into the
        // database: a send through the broker would move its clock, which never goes back, past the counts' reading.
        _clock.OnCountsReadingTheTime = () => InsertMessage(queue.Id, sentAt.ToUnixTimeMilliseconds());
        var counts = await Client.CountsAsync(queue.Id);

        _clock.OnCountsReadingTheTime.Should().BeNull("the counts read the time");
        counts.InFlightSize.Should().Be(0, "nobody has consumed the message");
        counts.RetrievableSize.Should().Be(counts.QueueSize);
        Clock.Advance(TimeSpan.FromMilliseconds(1));
        (await Client.CountsAsync(queue.Id)).Should().Be(new QueueCounts(queue.Id, queue.Name, 1, 1, 0));
    }

    /// <summary>Commits a message as a send does, created and visible at <paramref name="at"/> (Unix milliseconds).</summary>
    protected virtual void InsertMessage(long queueId, long at)
    {
        using var connection = new SqliteConnection($"Data Source={App.DatabasePath};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO messages (queue_id, body, created_at, visible_at) VALUES ($queue_id, 'sent', $at, $at)";
        command.Parameters.AddWithValue("$queue_id", queueId);
        command.Parameters.AddWithValue("$at", at);
        command.ExecuteNonQuery();
    }

    /// <summary>A fake clock that runs a hook the first time a store's ListQueuesAsync reads it.</summary>
    protected sealed class SendOnCountClock() : FakeTimeProvider(BrokerApplication.StartTime)
    {
        private Action? _hook;

        public Action? OnCountsReadingTheTime
        {
            get => Volatile.Read(ref _hook);
            set => Volatile.Write(ref _hook, value);
        }

        public override DateTimeOffset GetUtcNow()
        {
            if (Volatile.Read(ref _hook) is not null
                && new StackTrace().ToString().Contains(nameof(IMessageStore.ListQueuesAsync), StringComparison.Ordinal)
                && Interlocked.Exchange(ref _hook, null) is { } hook)
            {
                hook();
            }

            return base.GetUtcNow();
        }
    }
}

/// <summary>The same on PostgreSQL.</summary>
public sealed class CountsDuringASendOnPostgresTests()
    : CountsDuringASendTests(new SendOnCountClock(), clock => BrokerApplication.OnPostgres(clock: clock))
{
    protected override void InsertMessage(long queueId, long at)
    {
        using var connection = new NpgsqlConnection(App.PostgresConnectionString);
        connection.Open();
        using var command = new NpgsqlCommand(
            "INSERT INTO messages (queue_id, body, created_at, visible_at) VALUES (@queue_id, 'sent'::bytea, @at, @at)", connection);
        command.Parameters.AddWithValue("queue_id", queueId);
        command.Parameters.AddWithValue("at", at);
        command.ExecuteNonQuery();
    }
}
