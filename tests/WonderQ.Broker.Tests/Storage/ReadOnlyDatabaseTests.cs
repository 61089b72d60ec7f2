using System.Net;
using WonderQ.Shared.Contracts;

namespace WonderQ.Broker.Tests.Storage;

/// <summary>
/// A database SQLite will no longer write while the broker runs (SQLITE_READONLY): a client is told the database has
/// become read-only and what its operator must do, not that the storage could not be reached; once SQLite may write
/// again, sends succeed with nothing lost. SQLite is made to refuse with <c>PRAGMA query_only</c> on the writer's
/// connection, which fails each write transaction with SQLITE_READONLY as a file it may no longer write does: this
/// process runs as root, which a read-only file or folder does not stop, and a file system mounted read-write cannot
/// be remounted read-only while the broker has its files open for writing.
/// </summary>
public sealed class ReadOnlyDatabaseTests : FreshBroker
{
    private const string ReadOnlyDetail =
        "The broker's database has become read-only: it cannot store or claim messages until its operator lets the broker's user write the file, its -wal and -shm files and their folder again (or remounts the file system read-write). Try again later.";

    [Fact]
    public async Task A_send_and_a_consume_to_a_database_that_became_read_only_are_503s_that_say_so_and_sends_succeed_once_it_is_writable_again()
    {
        var queue = await Client.CreateQueueAsync();
        var kept = await Client.SendAsync(queue.Id, "sent before the database became read-only");
        WriterConnection.Pragma(App.Services, "PRAGMA query_only = 1");

        using var refused = await Client.PostAsync("/messages", Wire.Json(new SendMessageRequest(queue.Id, null, "refused")));
        using var unclaimed = await Client.GetAsync($"/messages/consume?queue_id={queue.Id}");

        var problem = await refused.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable);
        problem.GetProperty("detail").GetString().Should().Be(ReadOnlyDetail);
        refused.Headers.RetryAfter.Should().NotBeNull("a 503 tells the client when to try again");
        (await unclaimed.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable)).GetProperty("detail").GetString().Should().Be(ReadOnlyDetail);

        WriterConnection.Pragma(App.Services, "PRAGMA query_only = 0");
        var resent = await Client.SendAsync(queue.Id, "sent once it was writable again");

        (await Client.PeekAsync(queue.Id)).Select(m => m.Id).Should().Equal(kept, resent);
    }
}
