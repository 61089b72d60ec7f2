using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using WonderQ.Broker.Messages;
using WonderQ.Broker.Storage;
using WonderQ.Broker.Storage.Postgres;
using WonderQ.Shared.Contracts;
using WonderQ.Shared.Web;

namespace WonderQ.Broker.Tests.Storage.Postgres;

/// <summary>
/// Several brokers on one PostgreSQL database, as SPEC's scale-out has them behind a load balancer: what one broker
/// commits reaches the consumers waiting on the others, and no message goes to two consumers whichever broker they ask.
/// (The single-broker contract is the one the SQLite store keeps: the *OnPostgresTests classes run those tests here.)
/// </summary>
public sealed class SharedDatabaseTests : IAsyncLifetime
{
    private readonly string _connectionString = PostgresServer.CreateSchema();
    private readonly List<BrokerApplication> _apps = [];
    private readonly Lock _appsLock = new();
    private readonly FakeTimeProvider _clock = new(BrokerApplication.StartTime);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_broker_keeps_its_queues_and_messages_in_the_schema_its_connection_string_names()
    {
        var client = Broker().CreateClient();

        var queue = await client.CreateQueueAsync();
        await client.SendAsync(queue.Id, "stored");

        (await ScalarAsync<long>("SELECT COUNT(*) FROM messages WHERE queue_id = @value", queue.Id)).Should().Be(1);
        (await ScalarAsync<int>("SELECT MAX(version) FROM wonderq_schema")).Should().Be(1);
    }

    [Fact]
    public async Task A_message_sent_through_one_broker_answers_a_consumer_waiting_on_another()
    {
        var (one, other) = (Broker(), Broker());
        var (producer, consumer) = (one.CreateClient(), other.CreateClient());
        var queue = await producer.CreateQueueAsync();

        var waiting = consumer.ConsumeAsync(queue.Id, waitTime: 20);
        await Eventually.TrueAsync(() => Waiters(other).AsleepOn(queue.Id) == 1, "the consumer is asleep on the other broker");
        var id = await producer.SendAsync(queue.Id, "across");

        (await waiting.WaitAsync(TimeSpan.FromSeconds(10))).Should().ContainSingle().Which.Id.Should().Be(id);
    }

    [Fact]
    public async Task A_reservation_taken_on_one_broker_that_runs_out_wakes_a_consumer_waiting_on_another()
    {
        var (one, other) = (Broker(), Broker());
        var (first, second) = (one.CreateClient(), other.CreateClient());
        var queue = await first.CreateQueueAsync();

        // Both asleep on an empty queue, so the other broker's consumer has no expiry to wait for. The send hands the
        // message to the consumer on its own broker in its commit: all the other broker hears of is the reservation.
        var waiting = second.ConsumeAsync(queue.Id, waitTime: 20);
        await Eventually.TrueAsync(() => Waiters(other).AsleepOn(queue.Id) == 1, "the consumer is asleep on the other broker");
        var taken = first.ConsumeAsync(queue.Id, waitTime: 20, visibilityTimeout: 10);
        await Eventually.TrueAsync(() => Waiters(one).AsleepOn(queue.Id) == 1, "a consumer is asleep on the sending broker");
        var id = await first.SendAsync(queue.Id, "not deleted in time");
        (await taken.WaitAsync(TimeSpan.FromSeconds(10))).Should().ContainSingle().Which.Id.Should().Be(id);
        waiting.IsCompleted.Should().BeFalse("the message is reserved");

        // Whenever the reservation's notice reaches the other broker, before this or after, its timer fires at the expiry.
        _clock.Advance(TimeSpan.FromSeconds(11));

        var again = (await waiting.WaitAsync(TimeSpan.FromSeconds(10))).Should().ContainSingle().Subject;
        again.Id.Should().Be(id);
        again.ReceiveCount.Should().Be(2);
    }

    [Fact]
    public async Task A_queue_deleted_through_one_broker_answers_the_consumers_waiting_on_another_with_nothing()
    {
        var (one, other) = (Broker(), Broker());
        var queue = await one.CreateClient().CreateQueueAsync();
        var waiting = other.CreateClient().ConsumeAsync(queue.Id, waitTime: 20);
        await Eventually.TrueAsync(() => Waiters(other).AsleepOn(queue.Id) == 1, "the consumer is asleep on the other broker");

        using var deleted = await one.CreateClient().DeleteAsync($"/queues/{queue.Id}");

        deleted.StatusCode.Should().Be(HttpStatusCode.OK);
        (await waiting.WaitAsync(TimeSpan.FromSeconds(10))).Should().BeEmpty();
        using var send = await other.CreateClient().PostAsync("/messages", Wire.Json(new { queue_id = queue.Id, body = "too late" }));
        await send.ShouldBeProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Consumers_of_two_brokers_draining_one_queue_at_once_receive_each_message_exactly_once()
    {
        const int Messages = 300;
        var (one, other) = (Broker(systemClock: true), Broker(systemClock: true));
        var producer = one.CreateClient();
        var queue = await producer.CreateQueueAsync();
        var sent = new List<long>();
        for (var i = 0; i < Messages; i++)
        {
            sent.Add(await producer.SendAsync(queue.Id, $"m{i}"));
        }

        var received = new ConcurrentBag<long>();
        var consumers = Enumerable.Range(0, 12).Select(async n =>
        {
            using var client = (n % 2 == 0 ? one : other).CreateClient();
            while (true)
            {
                var batch = await client.ConsumeAsync(queue.Id, size: 1 + (n % 5), visibilityTimeout: 300);
                if (batch.Length == 0)
                {
                    return;
                }

                foreach (var message in batch)
                {
                    received.Add(message.Id);
                    using var delete = await client.DeleteMessageAsync(message.Id, message.ReservationToken);
                    delete.StatusCode.Should().Be(HttpStatusCode.OK);
                }
            }
        });
        await Task.WhenAll(consumers).WaitAsync(TimeSpan.FromSeconds(60));

        received.Should().OnlyHaveUniqueItems().And.BeEquivalentTo(sent);
    }

    [Fact]
    public async Task Sends_that_go_in_together_each_get_their_own_answer()
    {
        // Sends arriving together share one statement (PostgresSends); one to a queue that does not exist must not
        // take the others with it, nor be given one of their ids.
        var client = Broker(systemClock: true).CreateClient();
        var queues = new[] { await client.CreateQueueAsync(), await client.CreateQueueAsync() };
        const long NoSuchQueue = 999_999_999;

        var answers = await Task.WhenAll(Enumerable.Range(0, 90).Select(async i =>
        {
            var queueId = i % 3 == 2 ? NoSuchQueue : queues[i % 3].Id;
            using var response = await client.PostAsync("/messages", Wire.Json(new { queue_id = queueId, body = $"m{i}" }));
            return (i, queueId, response.StatusCode, Id: response.IsSuccessStatusCode ? (await response.ReadAsync<SendMessageResponse>()).Id : 0);
        }));

        answers.Where(a => a.queueId == NoSuchQueue).Should().OnlyContain(a => a.StatusCode == HttpStatusCode.NotFound);
        var stored = answers.Where(a => a.queueId != NoSuchQueue).ToList();
        stored.Should().OnlyContain(a => a.StatusCode == HttpStatusCode.Created).And.HaveCount(60);
        stored.Select(a => a.Id).Should().OnlyHaveUniqueItems();
        foreach (var queue in queues)
        {
            var bodies = (await client.PeekAsync(queue.Id, size: 100)).ToDictionary(m => m.Id, m => m.Body);
            bodies.Should().BeEquivalentTo(stored.Where(a => a.queueId == queue.Id).ToDictionary(a => a.Id, a => $"m{a.i}"));
        }
    }

    [Fact]
    public async Task Sends_whose_bodies_pass_the_batch_byte_limit_go_in_one_at_a_time()
    {
        var settings = new Dictionary<string, string> { ["Storage:Postgres:MaxBatchSendBytes"] = "1024" };
        var client = Broker(systemClock: true, settings).CreateClient();
        var queue = await client.CreateQueueAsync();
        var body = new string('x', 3000);

        var ids = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => client.SendAsync(queue.Id, body))).WaitAsync(TimeSpan.FromSeconds(30));

        ids.Should().OnlyHaveUniqueItems().And.HaveCount(20);
        (await client.PeekAsync(queue.Id, size: 30)).Should().HaveCount(20).And.OnlyContain(m => m.Body == body);
    }

    [Fact]
    public async Task Deletes_that_go_in_together_each_get_their_own_answer()
    {
        // Deletes arriving together share one statement (PostgresDeletes): each is answered for its own message and
        // token, and a message deleted twice at once is deleted once.
        var client = Broker(systemClock: true).CreateClient();
        var queue = await client.CreateQueueAsync();
        for (var i = 0; i < 40; i++)
        {
            await client.SendAsync(queue.Id, $"m{i}");
        }

        var claimed = new List<MessageDto>();
        while (claimed.Count < 40)
        {
            claimed.AddRange(await client.ConsumeAsync(queue.Id, size: 10, visibilityTimeout: 60));
        }

        // By the message's place: 0 its token, 1 another token, 2 its token twice at once, 3 no token.
        var asks = claimed.Index().SelectMany(c => (c.Index % 4) switch
        {
            0 => [(c.Item.Id, c.Item.ReservationToken)],
            1 => [(c.Item.Id, "0000000000000000000000000000000f")],
            2 => [(c.Item.Id, c.Item.ReservationToken), (c.Item.Id, c.Item.ReservationToken)],
            _ => new[] { (c.Item.Id, (string?)null) },
        }).Append((999_999_999, null)).ToList();
        var answers = await Task.WhenAll(asks.Select(async a =>
        {
            using var response = await client.DeleteMessageAsync(a.Item1, a.Item2);
            return (Id: a.Item1, response.StatusCode);
        }));

        var byMessage = answers.ToLookup(a => a.Id, a => a.StatusCode);
        foreach (var (i, message) in claimed.Index())
        {
            byMessage[message.Id].Should().BeEquivalentTo(
                (i % 4) switch
                {
                    1 => [HttpStatusCode.Conflict],
                    2 => [HttpStatusCode.OK, HttpStatusCode.NotFound],
                    _ => new[] { HttpStatusCode.OK },
                },
                $"message {i} was asked for as case {i % 4}");
        }

        byMessage[999_999_999].Should().Equal(HttpStatusCode.NotFound);
        (await client.PeekAsync(queue.Id, size: 100)).Select(m => m.Id).Should().BeEquivalentTo(claimed.Where((_, i) => i % 4 == 1).Select(m => m.Id));
    }

    [Fact]
    public async Task A_delete_of_a_message_another_transaction_holds_waits_for_it_alone()
    {
        var client = Broker(systemClock: true).CreateClient();
        var queue = await client.CreateQueueAsync();
        var (held, free) = (await client.SendAsync(queue.Id, "held"), await client.SendAsync(queue.Id, "free"));
        await using var connection = new NpgsqlConnection(_connectionString);
        await using var transaction = await HoldAsync(connection, held);

        var waiting = client.DeleteMessageAsync(held);
        // Not a fixed pause: on a loaded machine the delete might not have reached the row yet, and nothing would be tested.
        await Eventually.TrueAsync(async () => await ScalarAsync<long>(WaitingBehind, connection.ProcessID) == 1, "the held message's delete waits for the row");
        using (var other = await client.DeleteMessageAsync(free).WaitAsync(TimeSpan.FromSeconds(10)))
        {
            other.StatusCode.Should().Be(HttpStatusCode.OK, "the held message's delete holds up no other");
        }

        waiting.IsCompleted.Should().BeFalse("the row is still held");
        await transaction.CommitAsync();

        using var deleted = await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        deleted.StatusCode.Should().Be(HttpStatusCode.OK);
        (await client.PeekAsync(queue.Id)).Should().BeEmpty();
    }

    /// <summary>
    /// A claim that Limits:MaxBatchBytes cuts short has locked rows it then leaves, until it commits: a claim on another
    /// broker that ran meanwhile passed them by, and its consumer parked beside retrievable messages until its wait ran
    /// out (live, two brokers with a consumer of size 100 each on 40 bodies two to an answer: one of the two slept its
    /// 6 s in 2 trials of 10, while the other drained the queue two at a time).
    /// </summary>
    [Fact]
    public async Task A_consumer_whose_claim_passed_by_the_rows_a_claim_cut_short_held_is_woken_once_they_are_let_go()
    {
        var settings = new Dictionary<string, string> { ["Limits:MaxMessageBytes"] = "1024", ["Limits:MaxBatchBytes"] = "1024" };
        var (one, other) = (Broker(settings: settings), Broker(settings: settings));
        var producer = one.CreateClient();
        var queue = await producer.CreateQueueAsync();
        var first = await producer.SendAsync(queue.Id, new string('k', 1000));
        var second = await producer.SendAsync(queue.Id, new string('k', 1000));
        await Eventually.TrueAsync(() => !other.Services.GetRequiredService<QueueActivity>().Deaf, "the other broker listens");

        // The first broker's claim is held with both rows locked, before it commits: a row trigger (which a claim that
        // reserves nothing never fires) waits for an advisory lock this connection holds.
        var key = Random.Shared.NextInt64();
        await using var hold = new NpgsqlConnection(_connectionString);
        await hold.OpenAsync();
        await using (var install = new NpgsqlCommand(
            $"""
            SELECT pg_advisory_lock({key});
            CREATE FUNCTION test_hold_claim() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_advisory_lock({key}); PERFORM pg_advisory_unlock({key}); RETURN NULL; END $$;
            CREATE TRIGGER test_hold_claim AFTER UPDATE ON messages FOR EACH ROW EXECUTE FUNCTION test_hold_claim();
            """,
            hold))
        {
            await install.ExecuteNonQueryAsync();
        }

        var cut = producer.ConsumeAsync(queue.Id, size: 10);
        await Eventually.TrueAsync(async () => await ScalarAsync<long>(WaitingBehind, hold.ProcessID) == 1, "the claim is held with both rows locked");
        var waiting = other.CreateClient().ConsumeAsync(queue.Id, size: 10, waitTime: 20);
        await Eventually.TrueAsync(() => Waiters(other).AsleepOn(queue.Id) == 1, "the other broker's consumer passed both rows by and parked");
        await using (var release = new NpgsqlCommand($"SELECT pg_advisory_unlock({key})", hold))
        {
            await release.ExecuteNonQueryAsync();
        }

        (await cut.WaitAsync(TimeSpan.FromSeconds(10))).Should().ContainSingle().Which.Id.Should().Be(first);
        (await waiting.WaitAsync(TimeSpan.FromSeconds(10))).Should().ContainSingle("the row the cut left is retrievable").Which.Id.Should().Be(second);
    }

    [Fact]
    public async Task A_delete_under_a_token_that_is_not_the_message_s_leaves_it_to_a_claim_running_meanwhile()
    {
        // The batched deletes' statement caught before it commits, as a claim may meet it: a consumer acknowledging late
        // (the message claimed again since, and that reservation run out too) or under a wrong token is a 409, and must
        // not hide the message. It locked it, and the claim's SKIP LOCKED passed it by: the consumer parked beside a
        // message it could have had, and slept out its wait_time, as nothing announced a change.
        var client = Broker(systemClock: true).CreateClient();
        var queue = await client.CreateQueueAsync();
        var id = await client.SendAsync(queue.Id, "ready");
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var delete = new NpgsqlCommand(PostgresSql.DeleteMessages, connection, transaction))
        {
            delete.Parameters.AddWithValue("ids", new[] { id });
            delete.Parameters.AddWithValue("tokens", new[] { "0000000000000000000000000000000f" });
            await delete.ExecuteNonQueryAsync();
        }

        var claimed = await client.ConsumeAsync(queue.Id, waitTime: 0).WaitAsync(TimeSpan.FromSeconds(10));

        claimed.Select(m => m.Id).Should().Equal(id);
        await transaction.RollbackAsync();
    }

    [Fact]
    public async Task A_send_handed_to_a_waiting_consumer_as_another_broker_deletes_the_queue_is_a_404_and_the_consumer_is_answered_empty()
    {
        // The send's insert and the consumer's claim go as one command: the queue's deletion committing under the
        // insert fails it on the foreign key, and both requests are answered as for a queue that is gone, not a 500.
        var broker = Broker();
        var client = broker.CreateClient();
        var queue = await client.CreateQueueAsync();
        var consuming = client.ConsumeResponseAsync(queue.Id, waitTime: 20);
        await Eventually.TrueAsync(() => Waiters(broker).AsleepOn(queue.Id) == 1, "the consumer is asleep");
        await using var connection = new NpgsqlConnection(_connectionString);
        await using var deleting = await DeletingAsync(connection, queue.Id);

        var sending = client.PostAsync("/messages", Wire.Json(new SendMessageRequest(queue.Id, null, "too late")));
        await Eventually.TrueAsync(async () => await ScalarAsync<long>(WaitingBehind, connection.ProcessID) == 1, "the send waits for the deletion");
        await deleting.CommitAsync();

        using var sent = await sending.WaitAsync(TimeSpan.FromSeconds(10));
        await sent.ShouldBeProblemAsync(HttpStatusCode.NotFound);
        using var consumed = await consuming.WaitAsync(TimeSpan.FromSeconds(10));
        consumed.StatusCode.Should().Be(HttpStatusCode.OK);
        (await consumed.ReadAsync<MessageDto[]>()).Should().BeEmpty();
        (await ScalarAsync<long>("SELECT COUNT(*) FROM messages WHERE queue_id = @value", queue.Id)).Should().Be(0);
    }

    [Fact]
    public async Task A_delete_waiting_for_a_held_message_stops_waiting_when_its_client_leaves()
    {
        // A queue's deletion can hold its messages for seconds: the deletes of a client that gave up must not hold the
        // broker's connections meanwhile.
        var client = Broker(systemClock: true).CreateClient();
        var queue = await client.CreateQueueAsync();
        var held = await client.SendAsync(queue.Id, "held");
        await using var connection = new NpgsqlConnection(_connectionString);
        await using var transaction = await HoldAsync(connection, held);

        using var leaving = new CancellationTokenSource();
        var waiting = client.DeleteAsync($"/messages/{held}", leaving.Token);
        await Eventually.TrueAsync(async () => await ScalarAsync<long>(WaitingBehind, connection.ProcessID) == 1, "the delete waits for the row");

        await leaving.CancelAsync();

        await Eventually.TrueAsync(
            async () => await ScalarAsync<long>(WaitingBehind, connection.ProcessID) == 0, "the delete stopped waiting", TimeSpan.FromSeconds(5));
        await transaction.RollbackAsync();
        await waiting.Invoking(async w => await w).Should().ThrowAsync<OperationCanceledException>();
        (await client.PeekAsync(queue.Id)).Should().ContainSingle().Which.Id.Should().Be(held);
    }

    [Fact]
    public async Task A_send_handed_to_a_waiting_consumer_after_a_wait_for_a_connection_reserves_from_when_it_commits()
    {
        // One connection of two for the broker's requests (the other listens), and a queue's deletion holding it.
        var broker = Broker(connectionString: new NpgsqlConnectionStringBuilder(_connectionString) { MaxPoolSize = 2 }.ConnectionString);
        var client = broker.CreateClient();
        var queue = await client.CreateQueueAsync();
        var other = await client.CreateQueueAsync();
        var consuming = client.ConsumeResponseAsync(queue.Id, waitTime: 20, visibilityTimeout: 2);
        await Eventually.TrueAsync(() => Waiters(broker).AsleepOn(queue.Id) == 1, "the consumer is asleep");
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var holding = await connection.BeginTransactionAsync();
        await using (var hold = new NpgsqlCommand("SELECT id FROM queues WHERE id = @id FOR UPDATE", connection, holding))
        {
            hold.Parameters.AddWithValue("id", other.Id);
            await hold.ExecuteNonQueryAsync();
        }

        var deleting = client.DeleteAsync($"/queues/{other.Id}");
        await Eventually.TrueAsync(async () => await ScalarAsync<long>(WaitingBehind, connection.ProcessID) == 1, "the deletion waits for the row");
        var sending = client.PostAsync("/messages", Wire.Json(new SendMessageRequest(queue.Id, null, "handed over late")));
        await Eventually.TrueAsync(() => Waiters(broker).AsleepOn(queue.Id) == 0, "the send has taken the consumer");
        _clock.Advance(TimeSpan.FromSeconds(5));
        await holding.RollbackAsync();

        using var sent = await sending.WaitAsync(TimeSpan.FromSeconds(10));
        sent.StatusCode.Should().Be(HttpStatusCode.Created);
        using var consumed = await consuming.WaitAsync(TimeSpan.FromSeconds(10));
        (await consumed.ReadAsync<MessageDto[]>()).Should().ContainSingle().Which.Body.Should().Be("handed over late");
        (await client.ConsumeAsync(queue.Id)).Should().BeEmpty("the first consumer's two seconds have only begun");
        using var deleted = await deleting.WaitAsync(TimeSpan.FromSeconds(10));
        deleted.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    /// <summary>
    /// The clock starts half a millisecond into one, as a real one does: a reservation is stored in whole milliseconds,
    /// and from its last one on, another claim may take the message, so a claim back within that millisecond is late too.
    /// </summary>
    [Theory]
    [InlineData(3_000)]
    [InlineData(2_000)]
    [InlineData(1_999.7)]
    public async Task A_claim_whose_reservation_ran_out_before_the_server_answered_is_not_handed_out(double stallMilliseconds)
    {
        _clock.Advance(TimeSpan.FromTicks(5_000));
        var broker = Broker();
        var client = broker.CreateClient();
        var queue = await client.CreateQueueAsync();
        var id = await client.SendAsync(queue.Id, "claimed too slowly");
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var stalling = await connection.BeginTransactionAsync();
        await using (var stall = new NpgsqlCommand("LOCK TABLE messages IN ACCESS EXCLUSIVE MODE", connection, stalling))
        {
            await stall.ExecuteNonQueryAsync();
        }

        // A server that stalls for longer than the visibility timeout, as the claim is under way.
        var claiming = client.ConsumeResponseAsync(queue.Id, visibilityTimeout: 2);
        await Eventually.TrueAsync(async () => await ScalarAsync<long>(WaitingBehind, connection.ProcessID) == 1, "the claim waits for the table");
        _clock.Advance(TimeSpan.FromMilliseconds(stallMilliseconds));
        await stalling.RollbackAsync();

        using var claimed = await claiming.WaitAsync(TimeSpan.FromSeconds(10));
        (await claimed.ReadAsync<MessageDto[]>()).Should().BeEmpty("its reservation had run out, and another consumer may take it at once");
        var next = (await client.ConsumeAsync(queue.Id)).Should().ContainSingle().Subject;
        next.Id.Should().Be(id);
    }

    /// <summary>
    /// A send kept waiting for its batch (behind one the server holds up) is stamped when its own batch runs, as on
    /// SQLite: stamped as it arrived, its created_at lay behind its 201, and a consume could take it before messages
    /// that were retrievable earlier.
    /// </summary>
    [Fact]
    public async Task A_send_that_waits_for_its_batch_is_stamped_when_the_batch_runs()
    {
        var broker = Broker();
        var client = broker.CreateClient();
        var queue = await client.CreateQueueAsync();
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var stalling = await connection.BeginTransactionAsync();
        await using (var stall = new NpgsqlCommand("LOCK TABLE messages IN ACCESS EXCLUSIVE MODE", connection, stalling))
        {
            await stall.ExecuteNonQueryAsync();
        }

        var first = client.SendAsync(queue.Id, "in the batch held up");
        await Eventually.TrueAsync(async () => await ScalarAsync<long>(WaitingBehind, connection.ProcessID) == 1, "the first batch waits for the table");
        _clock.Advance(TimeSpan.FromSeconds(5));
        var second = client.SendAsync(queue.Id, "waiting for the next batch");
        await Task.Delay(200);
        _clock.Advance(TimeSpan.FromSeconds(5));
        var released = _clock.GetUtcNow();
        await stalling.RollbackAsync();
        await first.WaitAsync(TimeSpan.FromSeconds(10));
        var secondId = await second.WaitAsync(TimeSpan.FromSeconds(10));

        (await client.PeekAsync(queue.Id)).Single(m => m.Id == secondId).CreatedAt.Should().Be(released);
    }

    [Fact]
    public async Task A_role_whose_idle_sessions_the_server_ends_keeps_the_brokers_line_to_the_others()
    {
        await using var role = await PostgresRole.CreateAsync(_connectionString, grants: r =>
            $"GRANT USAGE, CREATE ON SCHEMA {r.Schema} TO {r.Name}; ALTER ROLE {r.Name} SET idle_session_timeout = '500ms'");
        var broker = Broker(systemClock: true, connectionString: role.ConnectionString);
        using (var health = await broker.CreateClient().GetAsync("/healthz"))
        {
            health.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        // The listening session names itself after the channel.
        const string Listener = "SELECT pid FROM pg_stat_activity WHERE application_name = @value";
        var channel = $"wonderq:{role.Schema}";
        await Eventually.TrueAsync(async () => await ScalarAsync<int?>(Listener, channel) is not null, "the broker listens");
        var listening = await ScalarAsync<int?>(Listener, channel);

        // Three times the server's limit on an idle session, well within the broker's own look at the line (15 s).
        await Task.Delay(TimeSpan.FromSeconds(1.5));

        (await ScalarAsync<int?>(Listener, channel)).Should().Be(listening, "the same session still listens");
        await broker.DisposeAsync();
        _apps.Remove(broker);
    }

    [Fact]
    public async Task A_send_to_a_queue_whose_deletion_is_under_way_holds_up_no_other_send_of_its_broker()
    {
        // Sends go in batches, one batch at a time: one waiting for the deletion (seconds, for a large queue) held every
        // send of the broker behind it.
        var broker = Broker();
        var client = broker.CreateClient();
        var going = await client.CreateQueueAsync();
        var staying = await client.CreateQueueAsync();
        await using var connection = new NpgsqlConnection(_connectionString);
        await using var deleting = await DeletingAsync(connection, going.Id);

        var waiting = client.PostAsync("/messages", Wire.Json(new SendMessageRequest(going.Id, null, "to a queue on its way out")));
        await Eventually.TrueAsync(async () => await ScalarAsync<long>(WaitingBehind, connection.ProcessID) == 1, "the send waits for the deletion");

        var sent = await client.SendAsync(staying.Id, "not held up").WaitAsync(TimeSpan.FromSeconds(10));

        waiting.IsCompleted.Should().BeFalse("the deletion has not ended");
        (await client.PeekAsync(staying.Id)).Should().ContainSingle().Which.Id.Should().Be(sent);
        await deleting.CommitAsync();
        using var refused = await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        await refused.ShouldBeProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Sends_waiting_for_a_queue_s_deletion_leave_connections_to_the_sends_of_other_queues()
    {
        // Three connections for requests besides the listener's: three sends waiting for the deletion took them all, and
        // every other request waited for one until Npgsql's Timeout, then was answered 503.
        var pooled = new NpgsqlConnectionStringBuilder(_connectionString) { MaxPoolSize = 4 }.ConnectionString;
        var client = Broker(connectionString: pooled).CreateClient();
        var going = await client.CreateQueueAsync();
        var staying = await client.CreateQueueAsync();
        await using var connection = new NpgsqlConnection(_connectionString);
        await using var deleting = await DeletingAsync(connection, going.Id);

        var waiting = Enumerable.Range(0, 3)
            .Select(i => client.PostAsync("/messages", Wire.Json(new SendMessageRequest(going.Id, null, $"to a queue on its way out {i}"))))
            .ToList();
        await Eventually.TrueAsync(async () => await ScalarAsync<long>(WaitingBehind, connection.ProcessID) >= 1, "a send waits for the deletion");
        await Task.Delay(300);

        (await ScalarAsync<long>(WaitingBehind, connection.ProcessID)).Should().Be(1, "one waits in the server, the others in the broker without a connection");
        var sent = await client.SendAsync(staying.Id, "not held up").WaitAsync(TimeSpan.FromSeconds(10));
        (await client.PeekAsync(staying.Id)).Should().ContainSingle().Which.Id.Should().Be(sent);
        waiting.Should().OnlyContain(w => !w.IsCompleted, "the deletion has not ended");
        await deleting.CommitAsync();
        foreach (var refused in await Task.WhenAll(waiting).WaitAsync(TimeSpan.FromSeconds(10)))
        {
            await refused.ShouldBeProblemAsync(HttpStatusCode.NotFound);
            refused.Dispose();
        }
    }

    [Fact]
    public async Task Brokers_started_together_on_an_empty_schema_create_it_once()
    {
        var started = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Task.Run(async () =>
        {
            using var client = Broker().CreateClient();
            using var health = await client.GetAsync("/healthz");
            return health.StatusCode;
        })));

        started.Should().AllBeEquivalentTo(HttpStatusCode.OK);
        (await ScalarAsync<long>("SELECT COUNT(*) FROM wonderq_schema")).Should().Be(1);
    }

    [Fact]
    public async Task A_broker_whose_user_was_granted_only_the_use_of_the_tables_another_created_serves_the_queues()
    {
        // docs/postgres.md's grants for a broker whose user did not create the tables, and no more: no CREATE on the schema.
        var creator = Broker(systemClock: true);
        var queue = await creator.CreateClient().CreateQueueAsync();
        await creator.DisposeAsync();
        _apps.Remove(creator);
        await using var role = await PostgresRole.CreateAsync(_connectionString, grants: r => $"""
            GRANT USAGE ON SCHEMA {r.Schema} TO {r.Name};
            GRANT SELECT, INSERT, UPDATE, DELETE ON queues, messages, wonderq_schema TO {r.Name};
            GRANT USAGE ON SEQUENCE messages_id_seq TO {r.Name}
            """);
        var user = Broker(systemClock: true, connectionString: role.ConnectionString);
        var client = user.CreateClient();

        var id = await client.SendAsync(queue.Id, "through a broker that created nothing");
        var claimed = (await client.ConsumeAsync(queue.Id)).Should().ContainSingle().Subject;
        using var deleted = await client.DeleteMessageAsync(claimed.Id, claimed.ReservationToken);
        var other = await client.CreateQueueAsync();
        using var queueDeleted = await client.DeleteAsync($"/queues/{other.Id}");

        claimed.Id.Should().Be(id);
        deleted.StatusCode.Should().Be(HttpStatusCode.OK);
        queueDeleted.StatusCode.Should().Be(HttpStatusCode.OK);
        await user.DisposeAsync();
        _apps.Remove(user);
    }

    [Theory]
    [InlineData("GRANT SELECT ON queues, messages, wonderq_schema TO {0}", "*lacks privileges*: INSERT on queues, UPDATE on queues, DELETE on queues, INSERT on messages, UPDATE on messages, DELETE on messages, USAGE on sequence *messages_id_seq. Grant them*")]
    [InlineData("GRANT SELECT, INSERT, UPDATE, DELETE ON queues, messages TO {0}; GRANT SELECT ON wonderq_schema TO {0}", "*lacks privileges*: USAGE on sequence *messages_id_seq. Grant them*")]
    public async Task A_broker_whose_user_was_granted_too_little_on_the_tables_stops_at_start_naming_what_it_lacks(string grants, string refusal)
    {
        // It used to start, answer its health check 200, and fail every send, create and consume with a 500.
        using (Broker().CreateClient())
        {
        }

        await using var role = await PostgresRole.CreateAsync(_connectionString, grants: r =>
            $"GRANT USAGE ON SCHEMA {r.Schema} TO {r.Name}; " + string.Format(CultureInfo.InvariantCulture, grants, r.Name));

        var start = () => CreateApp(role.ConnectionString);

        start.Should().Throw<StartRefusedException>().WithMessage(refusal);
    }

    [Fact]
    public async Task Messages_and_their_reservations_outlast_the_broker_that_stored_them()
    {
        var first = Broker();
        var client = first.CreateClient();
        var queue = await client.CreateQueueAsync("kept");
        var reserved = await client.SendAsync(queue.Id, "reserved");
        var ready = await client.SendAsync(queue.Id, "ready");
        var claim = (await client.ConsumeAsync(queue.Id, visibilityTimeout: 60)).Single();
        await first.DisposeAsync();
        _apps.Remove(first);

        var after = Broker().CreateClient();

        claim.Id.Should().Be(reserved);
        (await after.ConsumeAsync(queue.Id, size: 10)).Should().ContainSingle().Which.Id.Should().Be(ready);
        using var delete = await after.DeleteMessageAsync(reserved, claim.ReservationToken);
        delete.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_broker_that_lost_its_line_to_the_other_brokers_wakes_its_consumers_to_look_again_once_it_is_back()
    {
        var settings = new Dictionary<string, string> { ["Storage:Postgres:NotificationRetryInterval"] = "00:00:01" };
        var (one, other) = (Broker(systemClock: true), Broker(systemClock: true, settings));
        var producer = one.CreateClient();
        var queue = await producer.CreateQueueAsync();
        var waiting = other.CreateClient().ConsumeAsync(queue.Id, waitTime: 20);
        await Eventually.TrueAsync(() => Waiters(other).AsleepOn(queue.Id) == 1, "the consumer is asleep on the other broker");

        // Its listening connection cut, the other broker hears nothing of this send; the consumer would sleep through it.
        await CutListenersAsync();
        var id = await producer.SendAsync(queue.Id, "sent while it was deaf");

        var started = DateTime.UtcNow;
        (await waiting.WaitAsync(TimeSpan.FromSeconds(15))).Should().ContainSingle().Which.Id.Should().Be(id);
        (DateTime.UtcNow - started).Should().BeLessThan(TimeSpan.FromSeconds(10), "the consumer looked again when its broker listened again, well before its 20 s ran out");
    }

    [Fact]
    public async Task A_broker_whose_server_stops_answering_counts_its_line_to_the_others_lost_once_the_check_timeout_passes()
    {
        await using var link = new SilentLink(_connectionString);
        var settings = new Dictionary<string, string>
        {
            ["Storage:Postgres:NotificationCheckInterval"] = "00:00:01",
            ["Storage:Postgres:NotificationCheckTimeoutSeconds"] = "1",
            ["Storage:Postgres:NotificationRetryInterval"] = "00:00:00.100",
        };
        // Npgsql, once the check times out, asks the server to cancel it on a connection of its own; against this silent
        // link that cost twice Timeout (15 s unless set) more.
        var connectionString = new NpgsqlConnectionStringBuilder(link.ConnectionString) { Timeout = 1, CancellationTimeout = -1 }.ConnectionString;
        var broker = Broker(systemClock: true, settings, connectionString);
        var activity = broker.Services.GetRequiredService<QueueActivity>();
        await Eventually.TrueAsync(() => !activity.Deaf, "the broker listens");

        link.Silence();
        var silenced = Stopwatch.StartNew();
        await Eventually.TrueAsync(() => activity.Deaf, "the broker counts its line lost", TimeSpan.FromSeconds(30));

        // Quiet for 1 s, the check unanswered for 1 s, then Npgsql's cancel for 2 s: about 4 s, and 8 s with the
        // default timeout of 5 s.
        silenced.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(6.5));
        link.Resume();
        await Eventually.TrueAsync(() => !activity.Deaf, "the broker listens again once the server answers", TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task A_broker_that_is_not_listening_has_its_consumers_look_at_the_queue_rather_than_trust_that_it_was_empty()
    {
        var settings = new Dictionary<string, string> { ["Storage:Postgres:NotificationRetryInterval"] = "00:01:00" };
        var (one, other) = (Broker(systemClock: true), Broker(systemClock: true, settings));
        var producer = one.CreateClient();
        var consumer = other.CreateClient();
        var queue = await producer.CreateQueueAsync();
        await CutListenersAsync();

        // An empty look the other broker would otherwise reuse (LongPoll) while nothing it hears of changes the queue.
        (await consumer.ConsumeAsync(queue.Id, waitTime: 1)).Should().BeEmpty();
        var id = await producer.SendAsync(queue.Id, "sent while the other broker is deaf");
        var started = DateTime.UtcNow;
        var messages = await consumer.ConsumeAsync(queue.Id, waitTime: 5);

        messages.Should().ContainSingle().Which.Id.Should().Be(id);
        (DateTime.UtcNow - started).Should().BeLessThan(TimeSpan.FromSeconds(4), "it looked at once");
    }

    [Fact]
    public async Task A_message_whose_broker_died_before_announcing_it_is_found_once_the_last_empty_look_is_older_than_EmptyLookLifetime()
    {
        var broker = Broker(settings: new Dictionary<string, string> { ["Storage:Postgres:EmptyLookLifetime"] = "00:00:05" });
        var consumer = broker.CreateClient();
        var queue = await consumer.CreateQueueAsync();
        await Eventually.TrueAsync(() => !broker.Services.GetRequiredService<QueueActivity>().Deaf, "the broker listens");
        var first = consumer.ConsumeAsync(queue.Id, waitTime: 1);
        await Eventually.TrueAsync(() => Waiters(broker).AsleepOn(queue.Id) == 1, "the first consumer is asleep");
        _clock.Advance(TimeSpan.FromSeconds(1));
        (await first.WaitAsync(TimeSpan.FromSeconds(10))).Should().BeEmpty();

        // What another broker leaves behind when it is killed after its commit and before its notification went out.
        var now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
        var id = await ScalarAsync<long>(
            $"INSERT INTO messages (queue_id, body, created_at, visible_at) VALUES (@value, 'never announced', {now}, {now}) RETURNING id", queue.Id);

        // Within the lifetime a consumer trusts the empty look and parks without a claim (10,000 re-polling an idle queue
        // cost the database nothing); once it is older, the next consumer claims and is answered at once.
        var trusting = consumer.ConsumeAsync(queue.Id, waitTime: 20);
        await Eventually.TrueAsync(() => Waiters(broker).AsleepOn(queue.Id) == 1, "a consumer parks on the look of a second ago");
        _clock.Advance(TimeSpan.FromSeconds(4));
        (await consumer.ConsumeAsync(queue.Id, waitTime: 20).WaitAsync(TimeSpan.FromSeconds(10)))
            .Should().ContainSingle().Which.Id.Should().Be(id);

        _clock.Advance(TimeSpan.FromSeconds(16));
        (await trusting.WaitAsync(TimeSpan.FromSeconds(10))).Should().BeEmpty("its wait ran out, and the message is reserved");
    }

    [Fact]
    public async Task An_empty_look_is_trusted_for_EmptyLookLifetime_at_most_while_the_broker_clock_stands_still_after_a_step_back()
    {
        var clock = new SteppingClock();
        var broker = BrokerApplication.OnPostgres(
            _connectionString, clock, settings: new Dictionary<string, string> { ["Storage:Postgres:EmptyLookLifetime"] = "00:00:05" });
        lock (_appsLock)
        {
            _apps.Add(broker);
        }

        var consumer = broker.CreateClient();
        var queue = await consumer.CreateQueueAsync();
        await Eventually.TrueAsync(() => !broker.Services.GetRequiredService<QueueActivity>().Deaf, "the broker listens");

        // The broker's time stands still for the hour its wall clock has to catch up; the lifetime is a duration all the same.
        clock.StepBack(TimeSpan.FromHours(1));
        var first = consumer.ConsumeAsync(queue.Id, waitTime: 1);
        await Eventually.TrueAsync(() => Waiters(broker).AsleepOn(queue.Id) == 1, "the first consumer is asleep");
        clock.Advance(TimeSpan.FromSeconds(1));
        (await first.WaitAsync(TimeSpan.FromSeconds(10))).Should().BeEmpty();

        // Sent through a broker killed before its notification went out, stamped no later than this broker's time.
        var stamp = BrokerApplication.StartTime.ToUnixTimeMilliseconds();
        var id = await ScalarAsync<long>(
            $"INSERT INTO messages (queue_id, body, created_at, visible_at) VALUES (@value, 'never announced', {stamp}, {stamp}) RETURNING id", queue.Id);

        clock.Advance(TimeSpan.FromSeconds(5));
        (await consumer.ConsumeAsync(queue.Id, waitTime: 20).WaitAsync(TimeSpan.FromSeconds(10)))
            .Should().ContainSingle("the empty look is older than EmptyLookLifetime, however the wall clock stands").Which.Id.Should().Be(id);
    }

    [Fact]
    public void A_broker_whose_database_does_not_answer_stops_at_start_saying_so()
    {
        var unreachable = new NpgsqlConnectionStringBuilder(_connectionString) { Port = FreePort.Next(), Timeout = 2 }.ConnectionString;

        var start = () => CreateApp(unreachable);

        start.Should().Throw<StartRefusedException>()
            .WithMessage("cannot use the PostgreSQL database of Storage:Postgres:ConnectionString: *Check that the server is up and that the setting names it.");
    }

    [Fact]
    public void A_broker_whose_user_the_server_does_not_let_in_stops_at_start_pointing_at_the_user_not_at_the_tables()
    {
        var unknown = new NpgsqlConnectionStringBuilder(_connectionString) { Username = $"nobody{Guid.NewGuid():N}", Password = "wrong" }.ConnectionString;

        var start = () => CreateApp(unknown);

        start.Should().Throw<StartRefusedException>()
            .WithMessage("cannot use the PostgreSQL database of Storage:Postgres:ConnectionString: 28*Check the user name and password, and that the server lets that user in from here (pg_hba.conf).");
    }

    [Fact]
    public void A_broker_pointed_at_a_host_name_that_does_not_resolve_says_so_once()
    {
        var start = () => CreateApp("Host=wonderq-no-such-host.invalid;Database=wonderq;Username=wonderq;Timeout=5");

        var refusal = start.Should().Throw<StartRefusedException>().Which.Message;

        // The exception and the one inside it say the same, which was said twice over: "...: Name or service not known: Name or service not known."
        var reason = refusal[(refusal.IndexOf("ConnectionString: ", StringComparison.Ordinal) + "ConnectionString: ".Length)..refusal.IndexOf(". Check", StringComparison.Ordinal)];
        reason.Split(": ").Should().OnlyHaveUniqueItems(refusal);
        refusal.Should().EndWith("Check that the server is up and that the setting names it.");
    }

    [Fact]
    public async Task A_broker_whose_user_has_no_connection_to_spare_stops_at_start_saying_so_not_blaming_the_tables()
    {
        await using var role = await PostgresRole.CreateAsync(_connectionString, "CONNECTION LIMIT 0");

        var start = () => CreateApp(role.ConnectionString);

        start.Should().Throw<StartRefusedException>().WithMessage(
            "cannot use the PostgreSQL database of Storage:Postgres:ConnectionString: 53300*The server is not taking this connection now*CONNECTION LIMIT).");
    }

    [Fact]
    public async Task A_broker_whose_user_may_not_use_its_schema_stops_at_start_saying_so_not_that_the_schema_is_missing()
    {
        // The schema exists; PostgreSQL leaves a schema its user has no USAGE on out of the search path all the same.
        await using var role = await PostgresRole.CreateAsync(_connectionString);

        var start = () => CreateApp(role.ConnectionString);

        start.Should().Throw<StartRefusedException>().WithMessage("*names no schema that exists and its user may use*grant the user USAGE*");
    }

    [Fact]
    public async Task A_broker_stops_at_start_on_tables_a_newer_broker_has_upgraded()
    {
        using (Broker().CreateClient())
        {
        }

        await ScalarAsync<int>("INSERT INTO wonderq_schema (version) VALUES (99) RETURNING version");

        var start = () => CreateApp(_connectionString);

        start.Should().Throw<StartRefusedException>().WithMessage("*version 99, newer than this broker's 1*");
    }

    private BrokerApplication Broker(bool systemClock = false, IReadOnlyDictionary<string, string>? settings = null, string? connectionString = null)
    {
        var app = BrokerApplication.OnPostgres(connectionString ?? _connectionString, systemClock ? null : _clock, systemClock, settings);
        lock (_appsLock)
        {
            _apps.Add(app);
        }

        return app;
    }

    /// <summary>The broker as its Main builds it: its store is claimed there, before the host starts.</summary>
    private static WebApplication CreateApp(string connectionString) => Program.CreateApp(
        ["--urls", "http://127.0.0.1:0", "--Storage:Provider=postgres", $"--Storage:Postgres:ConnectionString={connectionString}"]);

    /// <summary>Cuts both brokers' listening connections, which they name after the channel, once both listen.</summary>
    private async Task CutListenersAsync()
    {
        var channel = $"wonderq:{new NpgsqlConnectionStringBuilder(_connectionString).SearchPath}";
        await Eventually.TrueAsync(
            async () => await ScalarAsync<long>("SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = @value", channel) == 2,
            "both brokers listen");
        (await ScalarAsync<long>("SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = @value", channel))
            .Should().Be(2);
    }

    /// <summary>A transaction on <paramref name="connection"/> (opened here) that holds the message's row, as a claim or a queue's deletion would.</summary>
    private static async Task<NpgsqlTransaction> HoldAsync(NpgsqlConnection connection, long messageId)
    {
        await connection.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        await using var lockRow = new NpgsqlCommand("SELECT id FROM messages WHERE id = @id FOR UPDATE", connection, transaction);
        lockRow.Parameters.AddWithValue("id", messageId);
        (await lockRow.ExecuteScalarAsync()).Should().Be(messageId);
        return transaction;
    }

    /// <summary>A transaction on <paramref name="connection"/> (opened here) that has deleted the queue and not yet committed, as a large queue's deletion is for seconds.</summary>
    private static async Task<NpgsqlTransaction> DeletingAsync(NpgsqlConnection connection, long queueId)
    {
        await connection.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        await using var deleteQueue = new NpgsqlCommand("DELETE FROM queues WHERE id = @id", connection, transaction);
        deleteQueue.Parameters.AddWithValue("id", queueId);
        (await deleteQueue.ExecuteNonQueryAsync()).Should().Be(1);
        return transaction;
    }

    /// <summary>How many sessions wait for a lock the session of pid <c>@value</c> holds.</summary>
    private const string WaitingBehind = "SELECT COUNT(*) FROM pg_stat_activity WHERE @value = ANY (pg_blocking_pids(pid))";

    private static WaitingConsumers Waiters(BrokerApplication app) => app.Services.GetRequiredService<WaitingConsumers>();

    /// <summary>A value read straight from the brokers' schema; <paramref name="value"/> is <c>@value</c> in the SQL.</summary>
    private async Task<T> ScalarAsync<T>(string sql, object? value = null)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        if (value is not null)
        {
            command.Parameters.AddWithValue("value", value);
        }

        return (T)(await command.ExecuteScalarAsync())!;
    }
}
