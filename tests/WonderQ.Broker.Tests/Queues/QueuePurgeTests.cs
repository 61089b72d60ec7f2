using System.Net;
using Microsoft.Data.Sqlite;

namespace WonderQ.Broker.Tests.Queues;

/// <summary>
/// A deleted queue is gone at once, however many messages it held, and its messages are removed after it a chunk
/// at a time (Storage:Sqlite:PurgeBatchSize), so that deleting a big queue does not hold every other request up.
/// </summary>
public sealed class QueuePurgeTests : IDisposable
{
    private const int PurgeBatchSize = 10;

    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    [Fact]
    public async Task A_queue_bigger_than_a_purge_chunk_is_gone_at_once_and_its_messages_are_removed_after_it()
    {
        await using var app = NewBroker();
        using var client = app.CreateClient();
        var doomed = await client.CreateQueueAsync();
        var kept = await client.CreateQueueAsync();
        for (var i = 0; i < 35; i++)
        {
            await client.SendAsync(doomed.Id, $"doomed {i}");
        }

        await client.SendAsync(kept.Id, "kept");
        var claimed = (await client.ConsumeAsync(doomed.Id, size: 1)).Single();
        var unclaimed = (await client.PeekAsync(doomed.Id, size: 35)).Last();

        using var deleted = await client.DeleteAsync($"/queues/{doomed.Id}");
        using var claimedDelete = await client.DeleteMessageAsync(claimed.Id, claimed.ReservationToken);
        using var unclaimedDelete = await client.DeleteMessageAsync(unclaimed.Id);
        using var consume = await client.ConsumeResponseAsync(doomed.Id);
        var again = await client.CreateQueueAsync(doomed.Name);

        deleted.StatusCode.Should().Be(HttpStatusCode.OK);
        claimedDelete.StatusCode.Should().Be(HttpStatusCode.NotFound, "a deleted queue's messages are gone, removed yet or not");
        unclaimedDelete.StatusCode.Should().Be(HttpStatusCode.NotFound);
        consume.StatusCode.Should().Be(HttpStatusCode.NotFound);
        again.Id.Should().NotBe(doomed.Id);
        (await client.CountsAsync(again.Id)).QueueSize.Should().Be(0);
        await Eventually.TrueAsync(() => MessagesOf(doomed.Id) == 0 && PendingPurges() == 0, "the deleted queue's messages removed");
        (await client.PeekAsync(kept.Id)).Select(m => m.Body).Should().Equal("kept");
    }

    /// <summary>
    /// A message whose queue is gone but which no purge has reached (here one that no purge ever will, so that the
    /// answer cannot come from its removal) is not there for a delete, with or without a token.
    /// </summary>
    [Fact]
    public async Task A_message_of_a_deleted_queue_not_yet_removed_cannot_be_deleted()
    {
        await using (var first = NewBroker())
        {
            using var client = first.CreateClient();
            await client.CreateQueueAsync();
        }

        long orphan;
        using (var connection = new SqliteConnection($"Data Source={_database.Path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = """
                INSERT INTO messages (queue_id, body, created_at, visible_at, reservation_token) VALUES (998, 'orphan', 0, 0, 'token')
                RETURNING id
                """;
            orphan = (long)command.ExecuteScalar()!;
        }

        await using var second = NewBroker();
        using var client2 = second.CreateClient();
        using var withToken = await client2.DeleteMessageAsync(orphan, "token");
        using var withWrongToken = await client2.DeleteMessageAsync(orphan, "other");
        using var withoutToken = await client2.DeleteMessageAsync(orphan);

        withToken.StatusCode.Should().Be(HttpStatusCode.NotFound);
        withWrongToken.StatusCode.Should().Be(HttpStatusCode.NotFound, "not 409: there is no such message to hold a token");
        withoutToken.StatusCode.Should().Be(HttpStatusCode.NotFound);
        MessagesOf(998).Should().Be(1);
    }

    [Fact]
    public async Task A_purge_cut_short_by_a_stop_is_taken_up_at_the_next_start()
    {
        long kept;
        await using (var first = NewBroker())
        {
            using var client = first.CreateClient();
            kept = (await client.CreateQueueAsync()).Id;
            await client.SendAsync(kept, "kept");
        }

        // What a broker stopped mid-purge leaves: the queue's row gone, its messages and its purge row still there.
        const long Deleted = 999;
        using (var connection = new SqliteConnection($"Data Source={_database.Path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = $"""
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 45)
                INSERT INTO messages (queue_id, body, created_at, visible_at) SELECT {Deleted}, 'left ' || i, 0, 0 FROM n;
                INSERT INTO queue_purges (queue_id) VALUES ({Deleted});
                """;
            command.ExecuteNonQuery();
        }

        await using var second = NewBroker();
        using var client2 = second.CreateClient();

        await Eventually.TrueAsync(() => MessagesOf(Deleted) == 0 && PendingPurges() == 0, "the purge taken up again");
        (await client2.PeekAsync(kept)).Select(m => m.Body).Should().Equal("kept");
    }

    private BrokerApplication NewBroker() => new(
        _database.Path,
        settings: new Dictionary<string, string> { ["Storage:Sqlite:PurgeBatchSize"] = $"{PurgeBatchSize}" });

    private long MessagesOf(long queueId) => Count($"SELECT COUNT(*) FROM messages WHERE queue_id = {queueId}");

    private long PendingPurges() => Count("SELECT COUNT(*) FROM queue_purges");

    private long Count(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={_database.Path};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }
}
