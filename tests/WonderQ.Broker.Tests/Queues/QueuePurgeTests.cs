using System.Net;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using WonderQ.Broker.Storage;
using WonderQ.Broker.Storage.Sqlite;
using WonderQ.Broker.Tests.Storage;
using WonderQ.Shared.Contracts;

namespace WonderQ.Broker.Tests.Queues;

/// <summary>
/// A deleted queue is gone at once, however many messages it held, and its messages are removed after it a chunk
/// at a time (Storage:Sqlite:PurgeBatchSize), so that deleting a big queue does not hold every other request up.
/// </summary>
public sealed class QueuePurgeTests : IDisposable
{
    private const int PurgeBatchSize = 10;

    /// <summary>The queue whose purge a test leaves behind (<see cref="LeavePurgeBehind"/>).</summary>
    private const long Deleted = 999;

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

        LeavePurgeBehind();

        await using var second = NewBroker();
        using var client2 = second.CreateClient();

        await Eventually.TrueAsync(() => MessagesOf(Deleted) == 0 && PendingPurges() == 0, "the purge taken up again");
        (await client2.PeekAsync(kept)).Select(m => m.Body).Should().Equal("kept");
    }

    /// <summary>
    /// While requests leave the writer no idle moment, a purge still removes a chunk once per
    /// Storage:Sqlite:PurgeIntervalUnderLoad (100 ms), and no more often. Made exact with batches of one change each,
    /// queued behind a held one so that the writer finds nothing waiting only after the last; the clock moves inside
    /// the second of them.
    /// </summary>
    [Fact]
    public async Task Under_load_a_purge_removes_one_chunk_per_PurgeIntervalUnderLoad()
    {
        await using var app = NewBroker(new() { ["Storage:Sqlite:MaxBatchOperations"] = "1" });
        using var client = app.CreateClient();
        var doomed = await client.CreateQueueAsync();
        for (var i = 0; i < 35; i++)
        {
            await client.SendAsync(doomed.Id, $"doomed {i}");
        }

        var writer = app.Services.GetRequiredService<SqliteCommitWriter>();
        var hold = new HoldOperation();
        var held = writer.RunAsync(hold);
        await hold.Entered.WaitAsync(TimeSpan.FromSeconds(10));
        var left = new List<long>();
        var queued = new List<Task<bool>>
        {
            writer.RunAsync(new DeleteQueueOperation(QueueRef.ById(doomed.Id), PurgeBatchSize, long.MaxValue, CancellationToken.None)),
            writer.RunAsync(new StepOperation(() => left.Add(MessagesOf(doomed.Id)))),
            writer.RunAsync(new StepOperation(() =>
            {
                left.Add(MessagesOf(doomed.Id));
                app.FakeClock.Advance(TimeSpan.FromMilliseconds(100));
            })),
            writer.RunAsync(new StepOperation(() => left.Add(MessagesOf(doomed.Id)))),
        };

        hold.Release.Set();
        await held;
        await Task.WhenAll(queued);

        left.Should().Equal(
            [15, 15, 5],
            "the delete took 10 and a chunk 10 more right after it (none had run for an interval); the next waited for the clock");
        await Eventually.TrueAsync(() => MessagesOf(doomed.Id) == 0 && PendingPurges() == 0, "the rest removed once the writer is idle");
    }

    /// <summary>
    /// A queue's delete in a batch that rolls back leaves the queue with every message, and no purge: one taken up
    /// all the same would remove the messages of a queue that is still there.
    /// </summary>
    [Fact]
    public async Task A_queue_delete_rolled_back_with_its_batch_leaves_the_queue_and_its_messages_to_no_purge()
    {
        await using var app = NewBroker();
        using var client = app.CreateClient();
        var (queue, deleted, failed) = await DeleteInAFailingBatchAsync(app, client, new FailingOperation());

        await FluentActions.Awaiting(() => deleted).Should().ThrowAsync<StoreUnavailableException>();
        await FluentActions.Awaiting(() => failed).Should().ThrowAsync<StoreUnavailableException>();
        await client.SendAsync(queue.Id, "sent after the rollback, and after any purge it set off");
        (await client.CountsAsync(queue.Id)).QueueSize.Should().Be(36);
        MessagesOf(queue.Id).Should().Be(36);
        PendingPurges().Should().Be(0);
    }

    /// <summary>
    /// A queue's delete in a batch whose commit failed in a way that may have committed it (an I/O error on the sync):
    /// the delete stands, and a retry finds the queue gone, so its purge is taken up all the same, not left to a restart
    /// with the messages in the file.
    /// </summary>
    [Fact]
    public async Task A_queue_delete_whose_batch_may_have_committed_has_its_messages_removed_all_the_same()
    {
        await using var app = NewBroker();
        using var client = app.CreateClient();
        var (queue, deleted, failed) = await DeleteInAFailingBatchAsync(app, client, new CommitThenFailOperation());

        (await FluentActions.Awaiting(() => deleted).Should().ThrowAsync<StoreUnavailableException>()).Which.MayHaveCommitted.Should().BeTrue();
        await FluentActions.Awaiting(() => failed).Should().ThrowAsync<StoreUnavailableException>();
        using var again = await client.DeleteAsync($"/queues/{queue.Id}");
        again.StatusCode.Should().Be(HttpStatusCode.NotFound, "the delete stood");
        await client.CreateQueueAsync();
        await Eventually.TrueAsync(() => MessagesOf(queue.Id) == 0 && PendingPurges() == 0, "the deleted queue's messages removed");
    }

    /// <summary>
    /// A failed purge waits Outages:LogInterval (10 s here) before it is tried again, however many requests the writer
    /// commits meanwhile.
    /// </summary>
    [Fact]
    public async Task A_failed_purge_is_tried_again_only_once_Outages_LogInterval_has_passed()
    {
        await using var started = await StartWithARefusedPurgeAsync();
        var (broker, client, log) = (started.Broker, started.Client, started.Log);

        broker.FakeClock.Advance(TimeSpan.FromSeconds(9));
        var queue = await client.CreateQueueAsync();
        await client.SendAsync(queue.Id, "committed while the purge waits");
        var failuresWithinTheInterval = PurgeFailures(log);
        var leftWithinTheInterval = MessagesOf(Deleted);
        broker.FakeClock.Advance(TimeSpan.FromSeconds(1));
        await client.SendAsync(queue.Id, "once the interval has passed");
        await client.SendAsync(queue.Id, "after the retry");
        var failuresAfterTheInterval = PurgeFailures(log);
        Execute("DROP TRIGGER refuse_purge");
        broker.FakeClock.Advance(TimeSpan.FromSeconds(10));
        await client.SendAsync(queue.Id, "once the next interval has passed");

        failuresWithinTheInterval.Should().Be(1, "requests under load do not bring the retry forward");
        leftWithinTheInterval.Should().Be(45);
        failuresAfterTheInterval.Should().Be(2);
        await Eventually.TrueAsync(() => MessagesOf(Deleted) == 0 && PendingPurges() == 0, "the purge done at its retry");
        PurgeFailures(log).Should().Be(2);
    }

    /// <summary>
    /// A purge that keeps failing (a disk that stays full) is logged with its stack trace once; each retry after it
    /// says only why it failed.
    /// </summary>
    [Fact]
    public async Task A_purge_that_keeps_failing_logs_its_stack_trace_once()
    {
        await using var started = await StartWithARefusedPurgeAsync();
        var (broker, client, log) = (started.Broker, started.Client, started.Log);
        var queue = await client.CreateQueueAsync();

        for (var retry = 0; retry < 2; retry++)
        {
            broker.FakeClock.Advance(TimeSpan.FromSeconds(10));
            await client.SendAsync(queue.Id, "once the retry is due");

            // Answered only once the writer is past the retry, which must read the clock before it moves again.
            await client.SendAsync(queue.Id, "after the retry");
        }

        var failures = log.Entries.Where(e => e.Message.StartsWith("Removing the messages of deleted queue", StringComparison.Ordinal)).ToList();
        failures.Select(e => e.Exception is null).Should().Equal([false, true, true], "the first failure and two retries");
        failures.Should().OnlyContain(e => e.Message.Contains("purge refused"), "each says why");
    }

    /// <summary>
    /// A broker that no request reaches still tries a failed purge again once Outages:LogInterval has passed, as its
    /// log says it will; it used to wait for the next request.
    /// </summary>
    [Fact]
    public async Task An_idle_broker_tries_a_failed_purge_again_when_its_retry_is_due()
    {
        await using var started = await StartWithARefusedPurgeAsync();
        var (broker, log) = (started.Broker, started.Log);
        Execute("DROP TRIGGER refuse_purge");

        await AdvanceUntilAsync(broker, () => MessagesOf(Deleted) == 0 && PendingPurges() == 0, "the purge done at its retry");

        PurgeFailures(log).Should().Be(1);
    }

    /// <summary>
    /// Outages:LogInterval 0 logs every 503; a purge that fails still waits Outages:RetryAfterSeconds before its next
    /// try. It used to try again at once, and log each failure with its stack trace, in a loop that held a core.
    /// </summary>
    [Fact]
    public async Task A_failing_purge_is_not_retried_in_a_loop_when_Outages_LogInterval_is_zero()
    {
        await using var started = await StartWithARefusedPurgeAsync(new() { ["Outages:LogInterval"] = "00:00:00" });
        var (client, log) = (started.Client, started.Log);

        var queue = await client.CreateQueueAsync();
        await client.SendAsync(queue.Id, "committed while the purge waits");

        PurgeFailures(log).Should().Be(1, "the clock has not moved since the failure");
        MessagesOf(Deleted).Should().Be(45);
    }

    /// <summary>
    /// A purge that keeps failing on one deleted queue's messages (a damaged page of them, say) does not hold up the
    /// purges of the queues deleted after it: once its retry is due the next queue's purge runs, and the failing one
    /// waits its turn again.
    /// </summary>
    [Fact]
    public async Task A_purge_that_keeps_failing_on_one_queue_does_not_hold_up_the_next_queues_purge()
    {
        await CreateFileAsync();
        LeavePurgeBehind(refused: true);
        LeavePurgeBehind(queueId: Deleted + 1);
        var log = new CommitWriterLog();
        await using var broker = NewBroker();
        await using var app = broker.WithLog(log);
        app.CreateClient().Dispose();
        await Eventually.TrueAsync(() => PurgeFailures(log) == 1, "the purge of the first queue tried at start");

        await AdvanceUntilAsync(broker, () => MessagesOf(Deleted + 1) == 0, "the next queue's purge done at the retry");

        await Eventually.TrueAsync(() => PurgeFailures(log) >= 2, "the failing queue's turn again");
        MessagesOf(Deleted).Should().Be(45);
        PendingPurges().Should().Be(1, "the failing queue's purge is still to do");
    }

    /// <summary>
    /// A chunk also stops at Storage:Sqlite:PurgeBatchBytes of bodies, so that a chunk of large messages holds the writer
    /// no longer than one of small ones: 1000 messages of 256 KiB took a second per chunk off a cold disk, during which
    /// every send on every queue waited. Here the fifth message cannot be deleted, so only chunks without it succeed.
    /// </summary>
    [Fact]
    public async Task A_purge_chunk_removes_no_more_bodies_than_the_purge_byte_limit()
    {
        await CreateFileAsync();
        Execute($"""
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5)
            INSERT INTO messages (queue_id, body, created_at, visible_at) SELECT {Deleted}, printf('%.1000c', 'x'), i, i FROM n;
            INSERT INTO queue_purges (queue_id) VALUES ({Deleted});
            CREATE TRIGGER refuse_fifth BEFORE DELETE ON messages WHEN OLD.queue_id = {Deleted} AND OLD.created_at = 5
            BEGIN SELECT RAISE(FAIL, 'purge refused'); END;
            """);
        var log = new CommitWriterLog();
        await using var broker = NewBroker(new() { ["Storage:Sqlite:PurgeBatchBytes"] = "2500" });
        await using var app = broker.WithLog(log);
        app.CreateClient().Dispose();

        await Eventually.TrueAsync(() => PurgeFailures(log) == 1, "the chunk with the fifth message failed");
        MessagesOf(Deleted).Should().Be(1, "two chunks of two messages (2,000 bytes each) went before it");
    }

    private BrokerApplication NewBroker(Dictionary<string, string>? settings = null)
    {
        settings ??= [];
        settings["Storage:Sqlite:PurgeBatchSize"] = $"{PurgeBatchSize}";
        return new(_database.Path, settings: settings);
    }

    /// <summary>
    /// Moves the clock on by the retry delay (Outages:LogInterval, 10 s here) until <paramref name="done"/> holds. The
    /// writer arms its retry timer just after it logs the failure a test waits for, so a single step taken in between
    /// (a busy machine can hold the writer's thread there) passes a timer not yet set, and the retry never comes.
    /// </summary>
    private static Task AdvanceUntilAsync(BrokerApplication broker, Func<bool> done, string what) =>
        Eventually.TrueAsync(
            () =>
            {
                broker.FakeClock.Advance(TimeSpan.FromSeconds(10));
                return done();
            },
            what);

    /// <summary>
    /// A broker started on a file whose purge <see cref="LeavePurgeBehind"/> refused, once that purge has failed the
    /// first time.
    /// </summary>
    private async Task<RefusedPurge> StartWithARefusedPurgeAsync(Dictionary<string, string>? settings = null)
    {
        await CreateFileAsync();
        LeavePurgeBehind(refused: true);
        var log = new CommitWriterLog();
        var broker = NewBroker(settings);
        var app = broker.WithLog(log);
        var started = new RefusedPurge(broker, app, app.CreateClient(), log);
        await Eventually.TrueAsync(() => PurgeFailures(log) >= 1, "the purge tried at start");
        return started;
    }

    private sealed record RefusedPurge(BrokerApplication Broker, WebApplicationFactory<Program> App, HttpClient Client, CommitWriterLog Log)
        : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await App.DisposeAsync();
            await Broker.DisposeAsync();
        }
    }

    private static int PurgeFailures(CommitWriterLog log) =>
        log.Entries.Count(e => e.Message.StartsWith("Removing the messages of deleted queue", StringComparison.Ordinal));

    private async Task CreateFileAsync()
    {
        await using var first = NewBroker();
        first.CreateClient().Dispose();
    }

    /// <summary>
    /// What a broker stopped mid-purge leaves: the queue's row gone, its messages and its purge row still there. A
    /// purge <paramref name="refused"/> fails on the first of them (as on a disk full to the last byte) until the
    /// trigger refuse_purge is dropped.
    /// </summary>
    private void LeavePurgeBehind(bool refused = false, long queueId = Deleted) => Execute($"""
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 45)
        INSERT INTO messages (queue_id, body, created_at, visible_at) SELECT {queueId}, 'left ' || i, 0, 0 FROM n;
        INSERT INTO queue_purges (queue_id) VALUES ({queueId});
        {(refused ? $"CREATE TRIGGER refuse_purge BEFORE DELETE ON messages WHEN OLD.queue_id = {queueId} BEGIN SELECT RAISE(FAIL, 'purge refused'); END;" : "")}
        """);

    /// <summary>A change of its own for the writer to run, in a batch of its own when batches are of one.</summary>
    private sealed class StepOperation(Action step) : WriteOperation<bool>(CancellationToken.None)
    {
        public override void Execute(WriterCommands commands, QueueActivity activity, DateTimeOffset now)
        {
            step();
            Result = true;
        }
    }

    private void Execute(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={_database.Path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>A queue of 35 messages, more than a purge chunk, deleted in one batch with <paramref name="failing"/>, which fails it.</summary>
    private static async Task<(QueueDto Queue, Task<bool> Deleted, Task<bool> Failed)> DeleteInAFailingBatchAsync(
        BrokerApplication app, HttpClient client, WriteOperation<bool> failing)
    {
        var queue = await client.CreateQueueAsync();
        for (var i = 0; i < 35; i++)
        {
            await client.SendAsync(queue.Id, $"message {i}");
        }

        var writer = app.Services.GetRequiredService<SqliteCommitWriter>();
        var hold = new HoldOperation();
        var held = writer.RunAsync(hold);
        await hold.Entered.WaitAsync(TimeSpan.FromSeconds(10));
        var deleted = writer.RunAsync(new DeleteQueueOperation(QueueRef.ById(queue.Id), PurgeBatchSize, long.MaxValue, CancellationToken.None));
        var failed = writer.RunAsync(failing);
        hold.Release.Set();
        await held;
        return (queue, deleted, failed);
    }

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
