using System.Reflection;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using WonderQ.Broker.Storage.Sqlite;

namespace WonderQ.Broker.Tests.Storage;

/// <summary>
/// A 201 promises a commit synced to disk, which a kill -9 test cannot tell from one that is not (the OS keeps what the
/// process wrote): so the level the writer's connection commits at is read from SQLite itself.
/// </summary>
public sealed class CommitSyncTests
{
    [Theory]
    [InlineData("FULL", 2)]
    [InlineData("EXTRA", 3)]
    [InlineData("full", 2)] // any case, as Storage:Provider and SQLite take it
    [InlineData("Extra", 3)]
    public async Task A_fresh_brokers_first_sends_commit_at_the_configured_level_and_a_claim_between_them_does_not_change_that(
        string synchronous, long level)
    {
        await using var app = new BrokerApplication(settings: new Dictionary<string, string> { ["Storage:Sqlite:Synchronous"] = synchronous });
        using var client = app.CreateClient();

        var queue = await client.CreateQueueAsync();
        await client.SendAsync(queue.Id, "the first send after start");
        SynchronousOf(app).Should().Be(level, "the first batches after start (a create, a send) promise a synced commit");

        await client.ConsumeAsync(queue.Id);
        SynchronousOf(app).Should().Be(1, "a claim alone promises nothing on disk, so it commits at NORMAL");

        await client.SendAsync(queue.Id, "a send after a claim");
        SynchronousOf(app).Should().Be(level);
    }

    /// <summary>The writer is idle once its request is answered; its connection is private to it, so reached by reflection.</summary>
    private static long SynchronousOf(BrokerApplication app)
    {
        var writer = app.Services.GetRequiredService<SqliteCommitWriter>();
        var commands = typeof(SqliteCommitWriter).GetField("_commands", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(writer)!;
        var connection = (SqliteConnection)typeof(WriterCommands).GetField("_connection", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(commands)!;
        using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA synchronous";
        return (long)pragma.ExecuteScalar()!;
    }
}
