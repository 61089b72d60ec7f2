using Microsoft.Data.Sqlite;
using WonderQ.Broker.Storage.Sqlite;

namespace WonderQ.Broker.Tests.Storage;

/// <summary>The commit writer's statements, run through SQLite's API rather than Microsoft.Data.Sqlite's commands.</summary>
public sealed class WriterStatementTests : IDisposable
{
    private readonly TempDatabase _database = new();
    private readonly SqliteConnection _connection;

    public WriterStatementTests()
    {
        _connection = new SqliteConnection($"Data Source={_database.Path};Pooling=False");
        _connection.Open();
        using var create = _connection.CreateCommand();
        create.CommandText = "CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL, at INTEGER)";
        create.ExecuteNonQuery();
    }

    public void Dispose()
    {
        _connection.Dispose();
        _database.Dispose();
    }

    [Fact]
    public void Text_numbers_and_nulls_come_back_as_they_were_bound()
    {
        using var insert = new WriterStatement(_connection.Handle!, "INSERT INTO t (body, at) VALUES ($body, $at) RETURNING id", "$body", "$at");
        using var select = new WriterStatement(_connection.Handle!, "SELECT body, at FROM t WHERE id = $id", "$id");
        const string body = "é 🙂 \u0000 end";

        long id;
        using (var run = insert.With(body, (long?)null))
        {
            run.Read().Should().BeTrue();
            id = run.Int64(0);
        }

        using (var run = select.With(id))
        {
            run.Read().Should().BeTrue();
            run.Text(0).Should().Be(body, "UTF-16 in, the same characters out, an embedded NUL included");
            run.NullableInt64(1).Should().BeNull();
            run.Read().Should().BeFalse();
        }

        insert.Execute("second", long.MaxValue).Should().Be(1);
        using var max = new WriterStatement(_connection.Handle!, "SELECT MAX(at) FROM t");
        using var maxRun = max.With();
        maxRun.Read().Should().BeTrue();
        maxRun.Int64(0).Should().Be(long.MaxValue);
    }

    [Fact]
    public void A_failed_run_throws_sqlite_error_and_leaves_the_statement_ready_to_run_again()
    {
        using var insert = new WriterStatement(_connection.Handle!, "INSERT INTO t (id, body) VALUES ($id, $body)", "$id", "$body");
        insert.Execute(1L, "first");

        var duplicate = () => insert.Execute(1L, "again");

        duplicate.Should().Throw<SqliteException>().Which.SqliteErrorCode.Should().Be(SQLitePCL.raw.SQLITE_CONSTRAINT);
        insert.Execute(2L, "next").Should().Be(1, "the statement was reset after the failure");
    }

    [Fact]
    public void A_statement_whose_parameters_are_not_the_ones_named_is_refused()
    {
        // Values are bound by position, so the names stand guard over the order.
        var swapped = () => new WriterStatement(_connection.Handle!, "INSERT INTO t (body, at) VALUES ($body, $at)", "$at", "$body");

        swapped.Should().Throw<InvalidOperationException>().WithMessage("*($body, $at)*");
    }

    [Fact]
    public void A_run_with_too_few_values_is_refused_rather_than_bound_to_null()
    {
        using var insert = new WriterStatement(_connection.Handle!, "INSERT INTO t (body, at) VALUES ($body, $at)", "$body", "$at");

        var tooFew = () => insert.Execute("only the body");

        tooFew.Should().Throw<ArgumentException>();
    }
}
