using System.Diagnostics;
using System.Net;
using Microsoft.Data.Sqlite;
using WonderQ.Shared.Contracts;

namespace WonderQ.Broker.Tests.Storage;

/// <summary>
/// The write lock held by another process (a sqlite3 shell's open transaction, a VACUUM) while requests come in: each
/// waits for it at most Storage:Sqlite:BusyTimeout, counted from when it reached the writer, and is then a 503 that
/// says the database is locked by another program and keeps nothing. Real time, as the wait is SQLite's own busy
/// handler; a second connection in this process takes the lock, which SQLite enforces between connections of one
/// process as between processes.
/// </summary>
public sealed class LockedDatabaseTests() : FreshBroker(new BrokerApplication(settings: new Dictionary<string, string>
{
    ["Storage:Sqlite:BusyTimeout"] = "00:00:01",

    // One request a batch: every request queued behind the first waited the lock out again in a batch of its own.
    ["Storage:Sqlite:MaxBatchOperations"] = "1",
}))
{
    [Fact]
    public async Task Requests_queued_behind_one_that_waits_on_a_lock_held_elsewhere_wait_no_longer_than_the_busy_timeout_each()
    {
        var queue = await Client.CreateQueueAsync();
        using (var other = new SqliteConnection($"Data Source={App.DatabasePath};Pooling=False"))
        {
            other.Open();
            Execute(other, "BEGIN IMMEDIATE");

            var answers = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => TimedSendAsync(queue.Id, $"refused {i}")));

            answers.Select(a => a.Status).Should().AllBeEquivalentTo(HttpStatusCode.ServiceUnavailable);
            answers.Select(a => a.Detail).Should().AllBe(
                "The broker's database is locked by another program (a sqlite3 shell with a transaction open, a VACUUM): the broker cannot store or claim messages until it lets go. Try again shortly.");
            answers.Select(a => a.Took).Should().AllSatisfy(
                // Waited out afresh by each batch of one, the k-th would wait k s, so the last three pass this bound; about
                // 1 s each as it is, the bound leaves a loaded two-core machine two and a half seconds of room.
                took => took.Should().BeLessThan(TimeSpan.FromSeconds(3.5), "a request waits on the lock for its BusyTimeout of 1 s, not again for each batch ahead of it"));
            Execute(other, "ROLLBACK");
        }

        var sent = await Client.SendAsync(queue.Id, "sent once the lock was released");

        (await Client.PeekAsync(queue.Id)).Select(m => m.Id).Should().Equal([sent], "the refused sends kept nothing");
    }

    private async Task<(HttpStatusCode Status, string? Detail, TimeSpan Took)> TimedSendAsync(long queueId, string body)
    {
        var started = Stopwatch.GetTimestamp();
        using var response = await Client.PostAsync("/messages", Wire.Json(new SendMessageRequest(queueId, null, body)));
        var took = Stopwatch.GetElapsedTime(started);
        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable);
        return (response.StatusCode, problem.GetProperty("detail").GetString(), took);
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
