using System.Net;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using WonderQ.Shared.Contracts;

namespace WonderQ.Broker.Tests.Storage;

/// <summary>
/// A full disk: every write that needs room fails with SQLITE_FULL. A client is told so, not that the storage could not
/// be reached; the log says it once with its stack trace and then counts the repeats, however many requests fail; and
/// freeing space (deleting messages) lets sends succeed again with nothing lost. The disk is made full with SQLite's
/// <c>max_page_count</c> on the writer's connection, which fails a commit that would grow the file as a full disk does.
/// </summary>
public sealed class FullDiskTests : IAsyncLifetime
{
    private static readonly string _big = new('x', 200_000);

    private readonly CommitWriterLog _log = new();
    private readonly BrokerApplication _broker = new(settings: new Dictionary<string, string>
    {
        ["Outages:LogInterval"] = "00:00:10",
        ["Logging:LogLevel:WonderQ.Broker.Storage.Sqlite.SqliteCommitWriter"] = "Information",
    });

    private WebApplicationFactory<Program> _app = null!;
    private HttpClient _client = null!;

    private FakeTimeProvider Clock => _broker.FakeClock;

    public Task InitializeAsync()
    {
        _app = _broker.WithLog(_log);
        _client = _app.CreateClient();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.DisposeAsync();
        await _broker.DisposeAsync();
    }

    [Fact]
    public async Task A_send_to_a_full_disk_is_a_503_that_says_the_disk_is_full_and_freeing_space_lets_sends_succeed_again()
    {
        var queue = await _client.CreateQueueAsync();
        var kept = await _client.SendAsync(queue.Id, "sent before the disk filled");
        var big = await _client.SendAsync(queue.Id, _big);
        FillTheDisk();

        using var refused = await SendAsync(queue.Id, _big);

        var problem = await refused.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable);
        problem.GetProperty("detail").GetString().Should().Be(
            "The broker's disk is full: it cannot store or claim messages until space is freed. Try again later.");
        refused.Headers.RetryAfter.Should().NotBeNull("a 503 tells the client when to try again");
        problem.GetProperty("committed").GetBoolean().Should().BeFalse("a client may send it again without storing it twice");
        (await _client.CountsAsync(queue.Id)).QueueSize.Should().Be(2, "the refused send was rolled back");

        (await _client.DeleteMessageAsync(big)).StatusCode.Should().Be(HttpStatusCode.OK, "a delete frees space, and needs none");
        var resent = await _client.SendAsync(queue.Id, _big);

        (await _client.PeekAsync(queue.Id)).Select(m => m.Id).Should().Equal(kept, resent);
    }

    [Fact]
    public async Task Failed_commits_are_logged_once_with_their_exception_then_counted_once_per_interval_and_the_recovery_once()
    {
        var queue = await _client.CreateQueueAsync();
        var big = await _client.SendAsync(queue.Id, _big);
        FillTheDisk();

        await RefusedSendsAsync(queue.Id, 5);
        var first = _log.Entries.Should().ContainSingle("repeats within the interval are only counted").Subject;
        first.Level.Should().Be(LogLevel.Error);
        first.Exception.Should().BeOfType<SqliteException>().Which.SqliteErrorCode.Should().Be(13, "SQLITE_FULL");
        first.Message.Should().Contain("disk full");

        Clock.Advance(TimeSpan.FromSeconds(11));
        await RefusedSendsAsync(queue.Id, 3);
        _log.Entries.Should().HaveCount(2, "the first failure after the interval sums up the repeats, the rest wait for the next");
        var summary = _log.Entries[^1];
        summary.Level.Should().Be(LogLevel.Error);
        summary.Exception.Should().BeNull("the stack trace was logged with the first");
        summary.Message.Should().Contain("5 more write batches failed").And.Contain("disk full");

        (await _client.DeleteMessageAsync(big)).StatusCode.Should().Be(HttpStatusCode.OK);
        await _client.SendAsync(queue.Id, _big);
        await _client.SendAsync(queue.Id, "and another");

        _log.Entries.Should().HaveCount(3, "commits succeeding again is said once");
        var recovered = _log.Entries[^1];
        recovered.Level.Should().Be(LogLevel.Information);
        recovered.Message.Should().Contain("Commits succeed again after 8 failed batches");
    }

    [Fact]
    public async Task Commits_that_still_succeed_between_the_failures_do_not_make_the_log_say_each_failure_again()
    {
        var queue = await _client.CreateQueueAsync();
        var empty = await _client.CreateQueueAsync();
        await _client.SendAsync(queue.Id, _big);
        var small = new List<long>();
        for (var i = 0; i < 6; i++)
        {
            small.Add(await _client.SendAsync(queue.Id, $"small {i}"));
        }

        FillTheDisk();

        for (var i = 0; i < 5; i++)
        {
            await RefusedSendsAsync(queue.Id, 1);

            // A claim that finds nothing changes nothing, and commits on a full disk: no sign that commits work again.
            (await _client.ConsumeAsync(empty.Id)).Should().BeEmpty();
            if (i == 0)
            {
                _log.Entries.Should().ContainSingle();
            }

            // A delete needs no room: it commits, and changes a row.
            (await _client.DeleteMessageAsync(small[i])).StatusCode.Should().Be(HttpStatusCode.OK);
        }

        _log.Entries.Select(e => (e.Level, e.Exception is null)).Should().Equal(
            [(LogLevel.Error, false), (LogLevel.Information, true)],
            "within the interval the failure is logged once, with its exception, and the first delete after it once; the rest are counted");
        _log.Entries[1].Message.Should().Contain("Commits succeed again after 1 failed batch (");

        Clock.Advance(TimeSpan.FromSeconds(11));
        await RefusedSendsAsync(queue.Id, 1);
        (await _client.ConsumeAsync(empty.Id)).Should().BeEmpty();
        (await _client.DeleteMessageAsync(small[5])).StatusCode.Should().Be(HttpStatusCode.OK);

        _log.Entries.Should().HaveCount(4, "an interval later: one line for the failures counted, one for the delete after them");
        _log.Entries[2].Message.Should().Contain("5 more write batches failed").And.Contain("8 committed");
        _log.Entries[2].Exception.Should().BeNull();
        _log.Entries[3].Message.Should().Contain("Commits succeed again after 5 failed batches");
    }

    private async Task RefusedSendsAsync(long queueId, int count)
    {
        for (var i = 0; i < count; i++)
        {
            using var response = await SendAsync(queueId, _big);
            response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        }
    }

    private Task<HttpResponseMessage> SendAsync(long queueId, string body) =>
        _client.PostAsync("/messages", Wire.Json(new SendMessageRequest(queueId, null, body)));

    /// <summary>The database may grow no further than it is: SQLite's <c>max_page_count</c>, on the writer's own connection.</summary>
    private void FillTheDisk() =>
        // Never below the pages in use: so, exactly those.
        ((long)WriterConnection.Pragma(_app.Services, "PRAGMA max_page_count = 1")!).Should().BeGreaterThan(1);
}
