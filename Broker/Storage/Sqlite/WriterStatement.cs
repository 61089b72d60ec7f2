using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace WonderQ.Broker.Storage.Sqlite;

/// <summary>
/// One of the commit writer's statements, compiled once and run through SQLite's own API on the writer's connection.
/// Every run of a <see cref="SqliteCommand"/> allocates a reader, a record, a statement enumerator, a binder for each
/// parameter and a box for each number: about 6 KB for each message sent, claimed and deleted, on the thread every
/// write goes through (docs/performance.md). Here a run binds and steps the compiled statement and allocates only
/// the strings it reads. Errors are Microsoft.Data.Sqlite's <see cref="SqliteException"/>, as from a command.
/// </summary>
internal sealed class WriterStatement : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;
    private readonly int _parameters;
    private byte[] _utf8 = new byte[256];

    /// <summary>Compiles <paramref name="sql"/>, whose parameters must be <paramref name="parameters"/> in that order.</summary>
    public WriterStatement(sqlite3 db, string sql, params string[] parameters)
    {
        _db = db;
        Check(raw.sqlite3_prepare_v3(db, sql, raw.SQLITE_PREPARE_PERSISTENT, out _statement));

        // Values are bound by position: a statement whose parameters were renamed or reordered must not start.
        var named = Enumerable.Range(1, raw.sqlite3_bind_parameter_count(_statement))
            .Select(i => raw.sqlite3_bind_parameter_name(_statement, i).utf8_to_string()).ToList();
        if (!named.SequenceEqual(parameters))
        {
            _statement.Dispose();
            throw new InvalidOperationException($"The statement's parameters are ({string.Join(", ", named)}), not ({string.Join(", ", parameters)}): {sql}");
        }

        _parameters = parameters.Length;
    }

    /// <summary>Starts a run with these parameter values, in order; dispose the run to reset the statement for the next.</summary>
    public Run With(params ReadOnlySpan<Value> values)
    {
        if (values.Length != _parameters)
        {
            throw new ArgumentException($"The statement takes {_parameters} parameters, not {values.Length}.", nameof(values));
        }

        for (var i = 0; i < values.Length; i++)
        {
            var index = i + 1;
            var rc = values[i] switch
            {
                { Text: { } text } => BindText(index, text),
                { Number: { } number } => raw.sqlite3_bind_int64(_statement, index, number),
                _ => raw.sqlite3_bind_null(_statement, index),
            };
            if (rc != raw.SQLITE_OK)
            {
                raw.sqlite3_reset(_statement);
                Check(rc);
            }
        }

        return new Run(this);
    }

    /// <summary>Runs it to the end, for a statement that returns no rows; how many rows it changed.</summary>
    public int Execute(params ReadOnlySpan<Value> values)
    {
        using var run = With(values);
        while (run.Read())
        {
        }

        return raw.sqlite3_changes(_db);
    }

    public void Dispose() => _statement.Dispose();

    /// <summary>
    /// Encoded here rather than handed to SQLite as UTF-16, whose conversion goes a byte at a time (1.3% of the broker's
    /// CPU in `cycle`), into a buffer the statement keeps: SQLite copies the value as it binds it.
    /// </summary>
    private int BindText(int index, string text)
    {
        // One pass when the buffer is large enough, as it is after the first long value.
        if (!Encoding.UTF8.TryGetBytes(text, _utf8, out var written))
        {
            _utf8 = new byte[Math.Max(Encoding.UTF8.GetByteCount(text), _utf8.Length * 2)];
            written = Encoding.UTF8.GetBytes(text, _utf8);
        }

        return raw.sqlite3_bind_text(_statement, index, _utf8.AsSpan(0, written));
    }

    private void Check(int rc)
    {
        if (rc is not (raw.SQLITE_OK or raw.SQLITE_ROW or raw.SQLITE_DONE))
        {
            SqliteException.ThrowExceptionForRC(rc, _db);
        }
    }

    /// <summary>A parameter's value: text, a whole number, or null.</summary>
    public readonly record struct Value(string? Text, long? Number)
    {
        public static implicit operator Value(string? text) => new(text, null);

        public static implicit operator Value(long number) => new(null, number);

        public static implicit operator Value(long? number) => new(null, number);
    }

    /// <summary>One run of the statement: read its rows, then dispose it.</summary>
    public readonly ref struct Run(WriterStatement owner)
    {
        private sqlite3_stmt Statement => owner._statement;

        /// <summary>Steps to the next row; false when there is none.</summary>
        public bool Read()
        {
            var rc = raw.sqlite3_step(Statement);
            owner.Check(rc);
            return rc == raw.SQLITE_ROW;
        }

        public long Int64(int column) => raw.sqlite3_column_int64(Statement, column);

        public bool IsNull(int column) => raw.sqlite3_column_type(Statement, column) == raw.SQLITE_NULL;

        public string Text(int column) => raw.sqlite3_column_text(Statement, column).utf8_to_string();

        public string? NullableText(int column) => IsNull(column) ? null : Text(column);

        public long? NullableInt64(int column) => IsNull(column) ? null : Int64(column);

        /// <summary>Resets the statement, so that it releases what it read and can run again; clears its bindings.</summary>
        public void Dispose()
        {
            raw.sqlite3_reset(Statement);
            raw.sqlite3_clear_bindings(Statement);
        }
    }
}
