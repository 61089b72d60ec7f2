using System.Globalization;
using System.Net;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using WonderQ.Broker.Messages;
using WonderQ.Broker.Storage;
using WonderQ.Broker.Storage.Sqlite;
using WonderQ.Shared.Contracts;
using WonderQ.Shared.Web;

namespace WonderQ.Broker.Tests.Storage;

public sealed class DurabilityTests : IDisposable
{
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    [Fact]
    public async Task Messages_and_queues_survive_a_restart_on_the_same_file()
    {
        long queueId;
        long messageId;
        string token;
        await using (var before = new BrokerApplication(_database.Path))
        {
            using var client = before.CreateClient();
            var queue = await client.CreateQueueAsync();
            queueId = queue.Id;
            messageId = await client.SendAsync(queue.Id, "kept on disk");
            await client.SendAsync(queue.Id, "claimed before the restart");
            token = (await client.ConsumeAsync(queue.Id, size: 2, visibilityTimeout: 30)).Last().ReservationToken!;
        }

        await using var after = new BrokerApplication(_database.Path);
        using var restarted = after.CreateClient();
        var messages = await restarted.PeekAsync(queueId);

        messages.Should().HaveCount(2);
        messages[0].Id.Should().Be(messageId);
        messages[0].Body.Should().Be("kept on disk");
        messages[1].ReservationToken.Should().Be(token, "reservations survive too");
        using var ack = await restarted.DeleteMessageAsync(messages[1].Id, token);
        ack.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_reservation_taken_before_a_restart_reaches_a_consumer_waiting_after_it_when_it_runs_out()
    {
        var clock = new FakeTimeProvider(BrokerApplication.StartTime);
        long queueId;
        long messageId;
        string token;
        await using (var before = new BrokerApplication(_database.Path, clock: clock))
        {
            using var client = before.CreateClient();
            var queue = await client.CreateQueueAsync();
            queueId = queue.Id;
            messageId = await client.SendAsync(queue.Id, "claimed for 10 s, then the broker restarts");
            token = (await client.ConsumeAsync(queue.Id, visibilityTimeout: 10)).Single().ReservationToken!;
        }

        await using var after = new BrokerApplication(_database.Path, clock: clock);
        using var restarted = after.CreateClient();
        var waiting = restarted.ConsumeAsync(queueId, waitTime: 20);
        var waiters = after.Services.GetRequiredService<WaitingConsumers>();
        await Eventually.TrueAsync(() => waiters.AsleepOn(queueId) == 1, "a consumer is asleep on the restarted broker, past its own look");
        waiting.IsCompleted.Should().BeFalse("the reservation taken before the restart still runs");

        clock.Advance(TimeSpan.FromSeconds(10));
        var answered = await Task.WhenAny(waiting, Task.Delay(TimeSpan.FromSeconds(10)));

        answered.Should().BeSameAs(waiting, "the reservation ran out 10 s before the consumer's wait does");
        (await waiting).Should().ContainSingle().Which.Should().Match<MessageDto>(
            m => m.Id == messageId && m.ReceiveCount == 2 && m.ReservationToken != token);
    }

    [Fact]
    public async Task A_send_after_the_database_file_was_deleted_is_a_503_that_says_so_and_the_health_check_fails()
    {
        await using var app = new BrokerApplication(_database.Path);
        using var client = app.CreateClient();
        var queue = await client.CreateQueueAsync();
        await client.SendAsync(queue.Id, "sent before the file was deleted");
        (await client.GetAsync("/healthz")).StatusCode.Should().Be(HttpStatusCode.OK);
        DeleteTheDatabaseFiles();

        using var refused = await client.PostAsync("/messages", Wire.Json(new SendMessageRequest(queue.Id, null, "would be lost at the next start")));
        using var health = await client.GetAsync("/healthz");

        var problem = await refused.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable);
        problem.GetProperty("detail").GetString().Should().StartWith("The broker's database file was deleted or replaced while it ran");
        health.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, "the store it answers from is gone");
    }

    [Fact]
    public async Task The_health_check_s_answers_healthy_or_not_are_never_kept_by_a_cache()
    {
        await using var app = new BrokerApplication(_database.Path);
        using var client = app.CreateClient();
        using var healthy = await client.GetAsync("/healthz");
        DeleteTheDatabaseFiles();

        using var unhealthy = await client.GetAsync("/healthz");

        foreach (var (answer, status) in new[] { (healthy, HttpStatusCode.OK), (unhealthy, HttpStatusCode.ServiceUnavailable) })
        {
            answer.StatusCode.Should().Be(status);
            answer.Headers.CacheControl.Should().NotBeNull($"a monitor must not read a {(int)status} kept from before");
            answer.Headers.CacheControl!.NoStore.Should().BeTrue();
            answer.Headers.CacheControl.NoCache.Should().BeTrue();
        }
    }

    /// <summary>
    /// A read SQLite fails is answered as a failed write is: a 503 saying what is known of the cause, which a client
    /// retries, rather than a 500. Here a reader the pool has to open anew finds the file gone.
    /// </summary>
    [Theory]
    [InlineData("/queues")]
    [InlineData("/queues/{0}/messages")]
    public async Task A_read_after_the_database_file_was_deleted_is_a_503_that_says_so(string path)
    {
        await using var app = new BrokerApplication(_database.Path);
        using var client = app.CreateClient();
        var queue = await client.CreateQueueAsync();
        DeleteTheDatabaseFiles();

        SqliteConnection.ClearAllPools();
        using var refused = await client.GetAsync(string.Format(CultureInfo.InvariantCulture, path, queue.Id));

        var problem = await refused.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable);
        problem.GetProperty("detail").GetString().Should().StartWith("The broker's database file was deleted or replaced while it ran");
        refused.Headers.RetryAfter.Should().NotBeNull();
    }

    /// <summary>
    /// SQL that SQLite refuses is a bug, not an outage: a 503 would have every client retry what cannot succeed, so it
    /// stays a 500. Here the column a look-up reads was renamed under the broker.
    /// </summary>
    [Fact]
    public async Task A_read_whose_SQL_SQLite_refuses_is_a_500_not_a_503_to_retry_logged_under_its_trace_id()
    {
        var log = new CommitWriterLog(typeof(ProblemExceptionHandler));
        await using var broker = new BrokerApplication(_database.Path);
        await using var app = broker.WithLog(log);
        using var client = app.CreateClient();
        var queue = await client.CreateQueueAsync();
        using (var connection = new SqliteConnection($"Data Source={_database.Path};Pooling=False"))
        {
            connection.Open();
            using var rename = connection.CreateCommand();
            rename.CommandText = "ALTER TABLE queues RENAME COLUMN created_at TO renamed";
            rename.ExecuteNonQuery();
        }

        using var answer = await client.GetAsync($"/queues/find?name={queue.Name}");

        var problem = await answer.ShouldBeProblemAsync(HttpStatusCode.InternalServerError);
        answer.Headers.RetryAfter.Should().BeNull();
        var traceId = problem.GetProperty("trace_id").GetString();
        log.Entries.Should().ContainSingle().Which.Message.Should().Be($"Request GET /queues/find failed (trace_id {traceId})");
    }

    /// <summary>
    /// A dashboard polls every second: failed reads are logged with SQLite's error and its stack trace once, then in one
    /// line an Outages:LogInterval (10 s) with a count of the rest.
    /// </summary>
    [Fact]
    public async Task Failed_reads_are_logged_with_a_stack_trace_once_and_then_counted_once_an_interval()
    {
        var logged = await LoggedAfterEachSpellOfFailedReadsAsync(TimeSpan.FromSeconds(10), 3, 1);
        var (withinTheInterval, entries) = (logged[0], logged[1]);

        withinTheInterval.Should().ContainSingle().Which.Exception.Should().BeOfType<SqliteException>();
        entries.Should().HaveCount(2);
        entries[1].Exception.Should().BeNull("the trace was logged once in this spell of failures");
        entries[1].Message.Should().StartWith("A read of the message store failed: ")
            .And.EndWith("(2 more such failures since the last of these lines)");
    }

    [Fact]
    public async Task One_failed_read_counted_is_said_as_one_failure_and_a_line_with_none_counted_says_no_count()
    {
        var entries = (await LoggedAfterEachSpellOfFailedReadsAsync(TimeSpan.FromSeconds(10), 2, 1, 1))[^1];

        entries.Select(entry => entry.Message).Should().SatisfyRespectively(
            first => first.Should().NotContain("more such"),
            second => second.Should().EndWith("(1 more such failure since the last of these lines)"),
            third => third.Should().NotContain("more such", "none was counted since the last line"));
    }

    /// <summary>
    /// Failures counted but not yet said in a line are said with the next one logged, even when that one starts a new
    /// spell of failures and carries a stack trace again: otherwise a short outage read as one failed read in the log.
    /// </summary>
    [Fact]
    public async Task Failed_reads_counted_before_a_quiet_interval_are_said_with_the_next_failure_logged()
    {
        var entries = (await LoggedAfterEachSpellOfFailedReadsAsync(TimeSpan.FromMinutes(1), 3, 1))[^1];

        entries.Should().HaveCount(2);
        entries[1].Exception.Should().BeOfType<SqliteException>("a new spell of failures began");
        entries[1].Message.Should().EndWith("(2 more such failures since the last of these lines)");
    }

    /// <summary>
    /// A consumer that parks has the next reservation expiry of its queue looked up on a reader. A read that fails there
    /// is the store's failed read like any other, logged by the store within its Outages:LogInterval, and not once more
    /// by the waiting consumers, unthrottled and with a second stack trace.
    /// </summary>
    [Fact]
    public async Task A_failed_look_up_of_the_next_reservation_expiry_is_logged_once()
    {
        var storeLog = new CommitWriterLog(typeof(SqliteMessageStore));
        var waitersLog = new CommitWriterLog(typeof(WaitingConsumers));
        await using var broker = new BrokerApplication(_database.Path);
        await using var app = broker.WithLog(storeLog, waitersLog);
        using var client = app.CreateClient();
        var queue = await client.CreateQueueAsync();
        DeleteTheDatabaseFiles();
        SqliteConnection.ClearAllPools();

        var consume = client.GetAsync($"/messages/consume?queue_id={queue.Id}&wait_time=1");
        await Eventually.TrueAsync(() => storeLog.Entries.Count > 0, "the store to log the failed look-up");
        await Eventually.TrueAsync(
            () =>
            {
                // Again until it is answered: the consumer may not have set its deadline's timer yet.
                broker.FakeClock.Advance(TimeSpan.FromSeconds(1));
                return consume.IsCompleted;
            },
            "the consume to be answered once its wait ran out");
        using var answer = await consume;

        answer.StatusCode.Should().Be(HttpStatusCode.OK, "only the early wake-up at an expiry is lost");
        storeLog.Entries.Should().ContainSingle().Which.Exception.Should().BeOfType<SqliteException>();
        (await Eventually.WithinAsync(() => waitersLog.Entries.Count > 0, TimeSpan.FromMilliseconds(200)))
            .Should().BeFalse(string.Join(Environment.NewLine, waitersLog.Entries.Select(e => e.Message)));
    }

    [Fact]
    public async Task The_health_check_of_a_broker_whose_database_file_was_deleted_says_so()
    {
        await using var app = new BrokerApplication(_database.Path);
        using var client = app.CreateClient();
        File.Delete(_database.Path);

        using var health = await client.GetAsync("/healthz");

        var problem = await health.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable);
        problem.GetProperty("detail").GetString().Should().StartWith("The broker's database file was deleted or replaced while it ran", "the store still answers reads");
    }

    [Theory]
    [InlineData("a link to the file")]
    [InlineData("a link to its folder")]
    [InlineData("a chain of relative links through a linked folder")]
    public async Task A_database_reached_through_a_symbolic_link_takes_sends_and_keeps_them(string path)
    {
        // SQLite names the -wal after the file the links lead to, not after the path it was given.
        var realFolder = System.IO.Directory.CreateDirectory(Path.Combine(_database.Directory, "real")).FullName;
        var linkedPath = path switch
        {
            "a link to the file" => File.CreateSymbolicLink(Path.Combine(_database.Directory, "link.db"), Path.Combine(realFolder, "q.db")).FullName,
            "a link to its folder" => Path.Combine(System.IO.Directory.CreateSymbolicLink(Path.Combine(_database.Directory, "link"), realFolder).FullName, "q.db"),
            _ => RelativeChain(),
        };
        long queueId;
        await using (var before = new BrokerApplication(linkedPath))
        {
            using var client = before.CreateClient();
            queueId = (await client.CreateQueueAsync()).Id;
            using var sent = await client.PostAsync("/messages", Wire.Json(new SendMessageRequest(queueId, null, "kept behind the link")));
            using var health = await client.GetAsync("/healthz");

            sent.StatusCode.Should().Be(HttpStatusCode.Created, await sent.Content.ReadAsStringAsync());
            health.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        await using var after = new BrokerApplication(linkedPath);
        using var restarted = after.CreateClient();
        (await restarted.PeekAsync(queueId)).Should().ContainSingle(m => m.Body == "kept behind the link");

        // r/link1 -> d/link2, r/d -> ../real/e, real/e/link2 -> ../q.db: the last ".." is taken in real/e, where the
        // folder link led, so the chain ends at real/q.db (not at r/q.db, where reading each link against the last one's
        // path would put it).
        string RelativeChain()
        {
            var r = System.IO.Directory.CreateDirectory(Path.Combine(_database.Directory, "r")).FullName;
            System.IO.Directory.CreateDirectory(Path.Combine(realFolder, "e"));
            System.IO.Directory.CreateSymbolicLink(Path.Combine(r, "d"), Path.Combine("..", "real", "e"));
            File.CreateSymbolicLink(Path.Combine(realFolder, "e", "link2"), Path.Combine("..", "q.db"));
            return File.CreateSymbolicLink(Path.Combine(r, "link1"), Path.Combine("d", "link2")).FullName;
        }
    }

    [Fact]
    public async Task A_send_after_files_were_put_back_where_the_deleted_database_was_is_still_a_503()
    {
        await using var app = new BrokerApplication(_database.Path);
        using var client = app.CreateClient();
        var queue = await client.CreateQueueAsync();
        string[] files = [_database.Path, _database.Path + "-wal"];
        foreach (var file in files)
        {
            File.Delete(file);
        }

        using var refused = await client.PostAsync("/messages", Wire.Json(new SendMessageRequest(queue.Id, null, "refused")));
        refused.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        foreach (var file in files)
        {
            // As a backup restored there would be: files of the same names, not the ones SQLite has open.
            File.WriteAllBytes(file, []);
        }

        using var sent = await client.PostAsync("/messages", Wire.Json(new SendMessageRequest(queue.Id, null, "would go to the deleted file")));
        using var health = await client.GetAsync("/healthz");

        sent.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, "SQLite still writes to the file it opened, which has no name");
        health.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
    }

    /// <summary>
    /// A file renamed over the database (a backup restored with <c>mv</c> while the broker ran) leaves a file at the
    /// path, but SQLite goes on writing to the one it opened, which has no name any more: what it commits there is gone
    /// at the next start, and its log checkpointed into that file leaves the new one damaged.
    /// </summary>
    [Fact]
    public async Task A_send_after_another_file_was_renamed_over_the_database_is_a_503_that_says_so_and_the_health_check_fails()
    {
        await using var app = new BrokerApplication(_database.Path);
        using var client = app.CreateClient();
        var queue = await client.CreateQueueAsync();
        await RenameABackupOverTheDatabaseAsync();
        using var refused = await client.PostAsync("/messages", Wire.Json(new SendMessageRequest(queue.Id, null, "would go to the file with no name")));
        using var health = await client.GetAsync("/healthz");

        var problem = await refused.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable);
        problem.GetProperty("detail").GetString().Should().StartWith("The broker's database file was deleted or replaced while it ran");
        (await health.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable)).GetProperty("detail").GetString()
            .Should().StartWith("The broker's database file was deleted or replaced while it ran");
    }

    /// <summary>
    /// A backup renamed over the file while the broker ran leaves the old file's -wal at the path: a broker restarted as a
    /// bare "Restart the broker" said read it as the backup's own, and started with the old queues, the backup not restored.
    /// </summary>
    [Fact]
    public async Task The_log_of_a_file_replaced_under_the_broker_says_to_remove_its_old_log_before_the_restart()
    {
        var log = new CommitWriterLog();
        await using var broker = new BrokerApplication(_database.Path);
        await using var app = broker.WithLog(log);
        using var client = app.CreateClient();
        var queue = await client.CreateQueueAsync();
        await RenameABackupOverTheDatabaseAsync();
        using var refused = await client.PostAsync("/messages", Wire.Json(new SendMessageRequest(queue.Id, null, "would go to the file with no name")));

        refused.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        log.Entries.Should().ContainSingle().Which.Exception!.Message.Should()
            .Contain($"remove {_database.Path}-wal and {_database.Path}-shm first")
            .And.NotContain("Restart the broker.", "a restart beside the old file's -wal does not restore the backup");
    }

    /// <summary>
    /// A file moved away while the broker ran keeps its last commits in the log left at the old path, which SQLite
    /// would delete as it opened a new, empty file there: the restart the 503s ask for lost acknowledged messages.
    /// </summary>
    [Fact]
    public async Task A_restart_after_the_database_was_moved_away_keeps_its_log_so_that_the_moved_file_has_every_message()
    {
        var moved = Path.Combine(_database.Directory, "moved.db");
        long queueId;
        await using (var app = new BrokerApplication(_database.Path))
        {
            using var client = app.CreateClient();
            var queue = await client.CreateQueueAsync();
            queueId = queue.Id;
            await client.SendAsync(queue.Id, "acknowledged before the move");
            File.Move(_database.Path, moved);
        }

        var restart = () => Program.CreateApp(["--urls", "http://127.0.0.1:0", $"--Storage:Sqlite:Path={_database.Path}"]);

        restart.Should().Throw<StartRefusedException>()
            .WithMessage($"*(Storage:Sqlite:Path): there is no database at the path, but its write-ahead log {_database.Path}-wal is there*");
        File.Exists(_database.Path).Should().BeFalse("a refused start creates no empty file in the moved one's place");
        File.Move(_database.Path + "-wal", moved + "-wal");
        File.Delete(_database.Path + "-shm");
        await using var there = new BrokerApplication(moved);
        using var thereClient = there.CreateClient();
        (await thereClient.PeekAsync(queueId)).Should().ContainSingle(m => m.Body == "acknowledged before the move");
    }

    [Fact]
    public async Task A_claim_after_the_database_file_was_deleted_is_not_logged_as_commits_succeeding_again()
    {
        var log = new CommitWriterLog();
        await using var broker = new BrokerApplication(_database.Path, settings: new Dictionary<string, string>
        {
            ["Logging:LogLevel:WonderQ.Broker.Storage.Sqlite.SqliteCommitWriter"] = "Information",
        });
        await using var app = broker.WithLog(log);
        using var client = app.CreateClient();
        var queue = await client.CreateQueueAsync();
        await client.SendAsync(queue.Id, "sent before the file was deleted");
        File.Delete(_database.Path);
        using var refused = await client.PostAsync("/messages", Wire.Json(new SendMessageRequest(queue.Id, null, "would be lost at the next start")));
        refused.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);

        (await client.ConsumeAsync(queue.Id)).Should().ContainSingle("a claim needs no sync, and still commits into the deleted file");

        log.Entries.Should().ContainSingle().Which.Level.Should().Be(LogLevel.Error, "the file is still gone");
    }

    [Fact]
    public async Task A_write_ahead_log_deleted_behind_a_symbolic_link_is_logged_by_the_path_it_had()
    {
        var realFolder = System.IO.Directory.CreateDirectory(Path.Combine(_database.Directory, "real")).FullName;
        var linkedPath = File.CreateSymbolicLink(Path.Combine(_database.Directory, "link.db"), Path.Combine(realFolder, "q.db")).FullName;
        var log = new CommitWriterLog();
        await using var broker = new BrokerApplication(linkedPath);
        await using var app = broker.WithLog(log);
        using var client = app.CreateClient();
        var queue = await client.CreateQueueAsync();
        File.Delete(Path.Combine(realFolder, "q.db-wal"));

        using var refused = await client.PostAsync("/messages", Wire.Json(new SendMessageRequest(queue.Id, null, "would be lost at the next start")));

        refused.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        log.Entries.Should().ContainSingle().Which.Exception!.Message.Should().Contain(Path.Combine(realFolder, "q.db-wal"))
            .And.NotContain("link.db-wal", "SQLite keeps no -wal beside the link");
    }

    [Fact]
    public async Task Ids_are_not_reused_after_a_restart()
    {
        long lastId;
        await using (var before = new BrokerApplication(_database.Path))
        {
            using var client = before.CreateClient();
            var queue = await client.CreateQueueAsync("reused");
            lastId = await client.SendAsync(queue.Id, "deleted");
            using var delete = await client.DeleteMessageAsync(lastId);
            delete.StatusCode.Should().Be(HttpStatusCode.OK, "an id still in the table would be passed by any id the file hands out");
        }

        await using var after = new BrokerApplication(_database.Path);
        using var restarted = after.CreateClient();
        var queue2 = await restarted.CreateQueueAsync("reused-again");
        var nextId = await restarted.SendAsync(queue2.Id, "new");

        nextId.Should().BeGreaterThan(lastId, "a late delete by an old id must never hit a newer message");
    }

    [Fact]
    public async Task A_second_broker_on_the_same_file_refuses_to_start_with_a_clear_message()
    {
        await using var owner = new BrokerApplication(_database.Path);
        using var ownerClient = owner.CreateClient();

        // The file is claimed as the app is built, before its host starts.
        var create = () => Program.CreateApp(["--urls", "http://127.0.0.1:0", $"--Storage:Sqlite:Path={_database.Path}"]);

        create.Should().Throw<StoreOwnershipException>()
            .WithMessage("*(Storage:Sqlite:Path): it is in use by another WonderQ broker*");
        using var stillServing = await ownerClient.GetAsync("/healthz");
        stillServing.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_second_broker_on_a_hard_link_to_the_file_refuses_to_start_and_the_first_keeps_working()
    {
        await using var owner = new BrokerApplication(_database.Path);
        using var ownerClient = owner.CreateClient();
        var queue = await ownerClient.CreateQueueAsync("linked");

        // The same file under another name, beside which no other broker's lock file lies. .NET cannot make a hard
        // link, so ln does (this test is for Unix, where the broker locks the file itself).
        var link = Path.Combine(_database.Directory, "linked.db");
        using (var ln = System.Diagnostics.Process.Start("ln", [_database.Path, link]))
        {
            await ln.WaitForExitAsync();
            ln.ExitCode.Should().Be(0);
        }

        // A process of its own: a refused open in this one would close a descriptor of the file, and with it the first
        // broker's SQLite locks, so its working on afterwards would prove less.
        using var second = AppProcess.Start("Broker", FreePort.Next(), null, $"--Storage:Sqlite:Path={link}");
        (await second.WaitForExitAsync(TimeSpan.FromSeconds(60))).Should().BeTrue("a refused broker stops");

        second.ExitCode.Should().Be(1);
        second.StandardError.Should().Contain($"cannot open the database {link} (Storage:Sqlite:Path): it is in use by another WonderQ broker")
            .And.Contain("hard link");
        File.Exists(link + ".lock").Should().BeFalse("the refused broker made that lock file, and removes it");
        var id = await ownerClient.SendAsync(queue.Id, "after the refusal");
        (await ownerClient.PeekAsync(queue.Id)).Should().ContainSingle().Which.Id.Should().Be(id);
    }

    [Fact]
    public async Task The_file_is_free_again_once_its_broker_stops()
    {
        await using (var first = new BrokerApplication(_database.Path))
        {
            using var client = first.CreateClient();
        }

        await using var second = new BrokerApplication(_database.Path);
        using var secondClient = second.CreateClient();
        using var health = await secondClient.GetAsync("/healthz");

        health.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task The_folders_and_files_a_broker_creates_are_for_its_own_user_alone()
    {
        var outer = Path.Combine(_database.Directory, "data");
        var folder = Path.Combine(outer, "wonderq");
        var path = Path.Combine(folder, "wonderq.db");

        await using var broker = new BrokerApplication(path);
        using var client = broker.CreateClient();
        var queue = await client.CreateQueueAsync();
        await client.SendAsync(queue.Id, "for the broker's user only");

        // Another local user must not read the messages, nor take the lock that keeps the broker from starting.
        // Every folder it made, not only the last: one writable by others could be moved aside with the rest in it.
        foreach (var made in (string[])[outer, folder])
        {
            File.GetUnixFileMode(made).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, made);
        }

        foreach (var file in (string[])[path, path + "-wal", path + "-shm", path + ".lock"])
        {
            File.GetUnixFileMode(file).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite, file);
        }
    }

    private void DeleteTheDatabaseFiles()
    {
        foreach (var file in Directory.GetFiles(_database.Directory))
        {
            File.Delete(file);
        }
    }

    /// <summary>A backup taken as the docs say (<c>VACUUM INTO</c>), then renamed over the running broker's file.</summary>
    private async Task RenameABackupOverTheDatabaseAsync()
    {
        var backup = Path.Combine(_database.Directory, "backup.db");
        await using (var connection = new SqliteConnection($"Data Source={_database.Path};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = $"VACUUM INTO '{backup}'";
            await command.ExecuteNonQueryAsync();
        }

        File.Move(backup, _database.Path, overwrite: true);
    }

    /// <summary>
    /// The store's log after each spell of failed reads (of <paramref name="reads"/> reads each, the clock moved on by
    /// <paramref name="apart"/> between spells) on a broker whose database files were deleted: each read on a reader the
    /// pool has to open anew, as the file is gone.
    /// </summary>
    private async Task<List<IReadOnlyList<LogEntry>>> LoggedAfterEachSpellOfFailedReadsAsync(TimeSpan apart, params int[] reads)
    {
        var log = new CommitWriterLog(typeof(SqliteMessageStore));
        await using var broker = new BrokerApplication(_database.Path);
        await using var app = broker.WithLog(log);
        using var client = app.CreateClient();
        DeleteTheDatabaseFiles();
        var logged = new List<IReadOnlyList<LogEntry>>();
        foreach (var spell in reads)
        {
            if (logged.Count > 0)
            {
                broker.FakeClock.Advance(apart);
            }

            for (var read = 0; read < spell; read++)
            {
                SqliteConnection.ClearAllPools();
                (await client.GetAsync("/queues")).StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
            }

            logged.Add(log.Entries);
        }

        return logged;
    }
}
