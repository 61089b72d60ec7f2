using Microsoft.Extensions.Time.Testing;
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
