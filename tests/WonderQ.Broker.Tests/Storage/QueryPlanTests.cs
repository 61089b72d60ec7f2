using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SQLitePCL;
using WonderQ.Broker.Storage;
using WonderQ.Broker.Storage.Sqlite;

namespace WonderQ.Broker.Tests.Storage;

/// <summary>
/// Every statement the store runs reaches its rows by a seek, never a scan of the messages or a sort: a claim that
/// orders by id on the wrong index still returns the right rows, but reads the whole queue to do it (a 15,000/s
/// claim becomes 50/s on a queue of millions), which no functional test notices. Checked on the schema the broker
/// itself creates, and again after <c>ANALYZE</c>, whose statistics an operator may leave in the file and which the
/// planner then weighs.
/// </summary>
public sealed partial class QueryPlanTests : IDisposable
{
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    public static TheoryData<string, string, string> Statements => new()
    {
        { nameof(SqliteSql.SelectClaimable), SqliteSql.SelectClaimable, "SEARCH messages USING INDEX ix_messages_claim (queue_id=? AND visible_at<?)" },
        { nameof(SqliteSql.Reserve), SqliteSql.Reserve, "SEARCH messages USING INTEGER PRIMARY KEY (rowid=?)" },
        { nameof(SqliteSql.NextExpiry), SqliteSql.NextExpiry, "SEARCH messages USING COVERING INDEX ix_messages_claim (queue_id=? AND visible_at>?)" },
        { nameof(SqliteSql.DeleteReservedMessage), SqliteSql.DeleteReservedMessage, "SEARCH messages USING INTEGER PRIMARY KEY (rowid=?)" },
        { nameof(SqliteSql.DeleteMessage), SqliteSql.DeleteMessage, "SEARCH messages USING INTEGER PRIMARY KEY (rowid=?)" },
        { nameof(SqliteSql.MessageExists), SqliteSql.MessageExists, "SEARCH messages USING INTEGER PRIMARY KEY (rowid=?)" },
        { nameof(SqliteSql.Ping), SqliteSql.Ping, "SEARCH messages USING INTEGER PRIMARY KEY (rowid=?)" },
        { nameof(SqliteSql.Peek), SqliteSql.Peek, "SEARCH messages USING INDEX ix_messages_queue (queue_id=?)" },
        { nameof(SqliteSql.Peek) + " (its answer)", SqliteSql.Peek, "SEARCH messages USING INTEGER PRIMARY KEY (rowid=?)" },
        { nameof(SqliteSql.PeekVersions), SqliteSql.PeekVersions, "SEARCH messages USING INDEX ix_messages_queue (queue_id=?)" },
        { nameof(SqliteSql.QueueById), SqliteSql.QueueById, "SEARCH queues USING INTEGER PRIMARY KEY (rowid=?)" },
        { nameof(SqliteSql.DeleteQueue), SqliteSql.DeleteQueue, "SEARCH queues USING INTEGER PRIMARY KEY (rowid=?)" },
        { nameof(SqliteSql.TakeSnapshot), SqliteSql.TakeSnapshot, "SEARCH queues USING INTEGER PRIMARY KEY (rowid=?)" },
        { nameof(SqliteSql.ListQueues), SqliteSql.ListQueues, "SEARCH m USING COVERING INDEX ix_messages_claim (queue_id=? AND visible_at>?)" },
        { nameof(SqliteSql.SelectPurgeChunk), SqliteSql.SelectPurgeChunk, "SEARCH messages USING INDEX ix_messages_queue (queue_id=?)" },
        { nameof(SqliteSql.DeleteMessages), SqliteSql.DeleteMessages, "SEARCH messages USING INTEGER PRIMARY KEY (rowid=?)" },
        { nameof(SqliteSql.DeletePurge), SqliteSql.DeletePurge, "SEARCH queue_purges USING INTEGER PRIMARY KEY (rowid=?)" },
        { nameof(SqliteSql.QueueByName), SqliteSql.QueueByName, "SEARCH queues USING INDEX sqlite_autoindex_queues_1 (name=?)" },
        { nameof(SqliteSql.QueueByIdAndName), SqliteSql.QueueByIdAndName, "SEARCH queues USING INTEGER PRIMARY KEY (rowid=?)" },
        { nameof(SqliteSql.LatestStamp), SqliteSql.LatestStamp, "SEARCH messages USING INTEGER PRIMARY KEY (rowid=?)" },
    };

    [Theory]
    [MemberData(nameof(Statements))]
    public void A_statement_seeks_its_rows_on_a_fresh_file(string name, string sql, string expectedStep)
    {
        using var connection = OpenBrokerSchema();

        PlanOf(connection, sql).Should().Contain(expectedStep, name).And.OnlyContain(step => IsSeekOrAllowedScan(step), name);
    }

    [Theory]
    [MemberData(nameof(Statements))]
    public void A_statement_still_seeks_its_rows_once_the_file_has_statistics(string name, string sql, string expectedStep)
    {
        using var connection = OpenBrokerSchema();
        FillAndAnalyze(connection);

        PlanOf(connection, sql).Should().Contain(expectedStep, name).And.OnlyContain(step => IsSeekOrAllowedScan(step), name);
    }

    public static TheoryData<string> StatementNames =>
        new(typeof(SqliteSql).GetFields().Where(f => f.IsLiteral).Select(f => f.Name));

    /// <summary>
    /// The writer binds new values to the same compiled statements for every request. Where SQLite's planner has used
    /// a bound value (a bare parameter as a <c>LIMIT</c>, for one), a new binding makes it parse and plan the statement
    /// again on its next step, invisibly, at the cost of a fresh prepare on every claim.
    /// </summary>
    [Theory]
    [MemberData(nameof(StatementNames))]
    public void A_statement_is_not_compiled_again_when_new_values_are_bound(string name)
    {
        var sql = (string)typeof(SqliteSql).GetField(name)!.GetValue(null)!;
        using var connection = OpenBrokerSchema();
        FillAndAnalyze(connection);
        var handle = connection.Handle!;

        raw.sqlite3_prepare_v2(handle, sql, out var statement).Should().Be(raw.SQLITE_OK, raw.sqlite3_errmsg(handle).utf8_to_string());
        using (statement)
        {
            foreach (var value in new[] { 1, 2, 3 })
            {
                BindAll(statement, value);
                int step;
                while ((step = raw.sqlite3_step(statement)) == raw.SQLITE_ROW)
                {
                }

                step.Should().Be(raw.SQLITE_DONE, $"{name} runs to its end ({raw.sqlite3_errmsg(handle).utf8_to_string()})");
                raw.sqlite3_reset(statement);
            }

            raw.sqlite3_stmt_status(statement, SqliteStmtStatusReprepare, 0).Should().Be(0, name);
        }
    }

    private const int SqliteStmtStatusReprepare = 5;

    private static void BindAll(sqlite3_stmt statement, int value)
    {
        for (var i = 1; i <= raw.sqlite3_bind_parameter_count(statement); i++)
        {
            _ = raw.sqlite3_bind_parameter_name(statement, i).utf8_to_string() switch
            {
                "$ids" => raw.sqlite3_bind_text(statement, i, $"[{value},{value + 10}]"),
                "$name" or "$token" or "$body" => raw.sqlite3_bind_text(statement, i, $"text-{value}"),
                _ => raw.sqlite3_bind_int64(statement, i, value),
            };
        }
    }

    /// <summary>
    /// Seeks, the subqueries they run, and the scans that stay small however long a queue is: the list of queues, the
    /// claim's list of ids, and the peek's cut at Limits:MaxBatchBytes (each at most the batch size).
    /// </summary>
    private static bool IsSeekOrAllowedScan(string step) =>
        !step.Contains("TEMP B-TREE", StringComparison.Ordinal) &&
        (!step.StartsWith("SCAN", StringComparison.Ordinal) || step is "SCAN q" or "SCAN head"
            || step.StartsWith("SCAN json_each", StringComparison.Ordinal) || step.StartsWith("SCAN (subquery-", StringComparison.Ordinal));

    private SqliteConnection OpenBrokerSchema()
    {
        var options = Options.Create(new StorageOptions { Sqlite = { Path = _database.Path } });
        var environment = new HostingEnvironment { ContentRootPath = Path.GetDirectoryName(_database.Path)! };
        using var database = new SqliteDatabase(options, environment, NullLogger<SqliteDatabase>.Instance);
        return database.OpenWriter(connection => connection);
    }

    /// <summary>Two queues, one long and one short, with some messages in flight: what statistics would describe.</summary>
    private static void FillAndAnalyze(SqliteConnection connection)
    {
        Execute(connection, """
            INSERT INTO queues (name, created_at) VALUES ('long', 0), ('short', 0);
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
            INSERT INTO messages (queue_id, body, created_at, visible_at)
            SELECT CASE WHEN i % 50 = 0 THEN 2 ELSE 1 END, 'body ' || i, i, CASE WHEN i % 3 = 0 THEN i + 60000 ELSE i END FROM n;
            ANALYZE;
            """);
    }

    private static List<string> PlanOf(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN " + sql;
        foreach (var parameter in ParameterName().Matches(sql).Select(m => m.Value).Distinct())
        {
            command.Parameters.AddWithValue(parameter, parameter == "$ids" ? "[1,2,3]" : 1);
        }

        var steps = new List<string>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            steps.Add(reader.GetString(3));
        }

        return steps;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    [GeneratedRegex(@"\$\w+")]
    private static partial Regex ParameterName();
}
