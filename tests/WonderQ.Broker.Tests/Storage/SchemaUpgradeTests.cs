using Microsoft.Data.Sqlite;
using WonderQ.Broker.Storage;
using WonderQ.Broker.Storage.Sqlite;
using WonderQ.Shared.Contracts;

namespace WonderQ.Broker.Tests.Storage;

/// <summary>A file written by an older broker opens in this one with nothing lost and its counts right.</summary>
public sealed class SchemaUpgradeTests : IDisposable
{
    private static readonly int _latestVersion = SchemaScripts.Load("WonderQ.Broker.Schema.")[^1].Version;

    /// <summary>Its lines about the schema are at Information, under the tests' Warning.</summary>
    private static readonly Dictionary<string, string> _schemaLogged = new() { [$"Logging:LogLevel:{typeof(SqliteDatabase).FullName}"] = "Information" };

    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    [Theory]
    [InlineData(1, "0001_initial.sql")]
    [InlineData(2, "0001_initial.sql", "0002_queue_message_count.sql")]
    [InlineData(3, "0001_initial.sql", "0002_queue_message_count.sql", "0003_count_triggers_without_statement_journal.sql")]
    public async Task An_older_file_is_upgraded_with_its_queue_counts_intact_and_kept_up_to_date(int version, params string[] scripts)
    {
        var now = BrokerApplication.StartTime.ToUnixTimeMilliseconds();
        using (var connection = new SqliteConnection($"Data Source={_database.Path};Pooling=False"))
        {
            connection.Open();
            foreach (var script in scripts)
            {
                Execute(connection, SchemaScript(script));
            }

            Execute(connection, $"PRAGMA user_version = {version};");
            Execute(connection, $"INSERT INTO queues (name, created_at) VALUES ('old-a', {now}), ('old-b', {now}), ('old-empty', {now});");
            Execute(connection, $"""
                INSERT INTO messages (queue_id, body, created_at, visible_at) VALUES
                    (1, 'a1', {now}, {now}), (1, 'a2, in flight', {now}, {now + 60_000}), (1, 'a3', {now}, {now}),
                    (2, 'b1', {now}, {now});
                """);
        }

        var log = new CommitWriterLog(typeof(SqliteDatabase));
        await using var broker = new BrokerApplication(_database.Path, settings: _schemaLogged);
        await using var app = broker.WithLog(log);
        using var client = app.CreateClient();
        var upgraded = new[] { await client.CountsAsync(1), await client.CountsAsync(2), await client.CountsAsync(3) };
        var sent = await client.SendAsync(1, "a4");
        var afterSend = await client.CountsAsync(1);
        using var deleted = await client.DeleteMessageAsync(sent);
        var afterDelete = await client.CountsAsync(1);

        upgraded.Should().Equal(
            new QueueCounts(1, "old-a", 3, 2, 1),
            new QueueCounts(2, "old-b", 1, 1, 0),
            new QueueCounts(3, "old-empty", 0, 0, 0));
        afterSend.Should().Be(new QueueCounts(1, "old-a", 4, 3, 1));
        afterDelete.Should().Be(new QueueCounts(1, "old-a", 3, 2, 1));
        await AssertSameSchemaAsNewFileAsync();
        log.Entries.Select(e => e.Message).Where(m => m.Contains("schema", StringComparison.Ordinal)).Should().Equal(
            Enumerable.Range(version + 1, _latestVersion - version).Select(v => $"Applied schema version {v} to {_database.Path}"));
    }

    [Fact]
    public async Task A_new_file_is_logged_as_created_not_as_upgraded_a_version_at_a_time()
    {
        var log = new CommitWriterLog(typeof(SqliteDatabase));
        await using var broker = new BrokerApplication(_database.Path, settings: _schemaLogged);
        await using var app = broker.WithLog(log);

        app.CreateClient().Dispose();

        log.Entries.Select(e => e.Message).Where(m => m.Contains("schema", StringComparison.Ordinal)).Should().Equal(
            $"Created the database {_database.Path} (schema version {_latestVersion})");
    }

    /// <summary>
    /// The upgraded file ends with the schema a new one gets, whose count triggers update OR FAIL: a trigger that can
    /// abort would make SQLite keep a statement journal for every delete of a message (docs/performance.md).
    /// </summary>
    private async Task AssertSameSchemaAsNewFileAsync()
    {
        var upgraded = SchemaOf(_database.Path);
        await using var fresh = new BrokerApplication();
        using (var client = fresh.CreateClient())
        {
            (await client.GetAsync("/healthz")).EnsureSuccessStatusCode();
        }

        upgraded.Should().Equal(SchemaOf(fresh.DatabasePath));
        upgraded.Where(entry => entry.StartsWith("trigger ", StringComparison.Ordinal)).Should().HaveCount(2)
            .And.OnlyContain(entry => entry.Contains("UPDATE OR FAIL queues", StringComparison.Ordinal));
    }

    private static List<string> SchemaOf(string path)
    {
        using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT type || ' ' || name || ': ' || COALESCE(sql, '') FROM sqlite_master ORDER BY type, name";
        using var reader = command.ExecuteReader();
        var entries = new List<string>();
        while (reader.Read())
        {
            entries.Add(reader.GetString(0));
        }

        return entries;
    }

    private static string SchemaScript(string file)
    {
        using var stream = typeof(Program).Assembly.GetManifestResourceStream($"WonderQ.Broker.Schema.{file}")!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
