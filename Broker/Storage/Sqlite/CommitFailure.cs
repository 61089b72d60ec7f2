using Microsoft.Data.Sqlite;

namespace WonderQ.Broker.Storage.Sqlite;

/// <summary>
/// Why a write batch failed, as far as SQLite says: what a client is told (the 503's detail), and the kind of failure
/// the writer's log counts repeats of.
/// </summary>
internal sealed record CommitFailure(string Kind, string Detail)
{
    /// <summary>SQLITE_IOERR, whose extended codes (a failed read, write, fsync...) all share it as their low byte.</summary>
    private const int SqliteIoError = 10;

    /// <summary>SQLITE_FULL: the disk (or the database's <c>max_page_count</c>) has no room for the change.</summary>
    private const int SqliteFull = 13;

    /// <summary>
    /// SQLITE_BUSY: another connection held the write lock for all of Storage:Sqlite:BusyTimeout. Only the broker's
    /// writer writes, so that is another process: a sqlite3 shell with a transaction open, a VACUUM.
    /// </summary>
    private const int SqliteBusy = 5;

    /// <summary>SQLITE_READONLY: SQLite refuses to write the file (it can no longer lock or set up its -shm file, say).</summary>
    private const int SqliteReadOnly = 8;

    /// <summary>SQLITE_READONLY_DBMOVED: the file was renamed or deleted since SQLite opened it.</summary>
    private const int SqliteReadOnlyDbMoved = 1032;

    public const string DiskFull = "The broker's disk is full: it cannot store or claim messages until space is freed. Try again later.";

    public const string ReadOnly =
        "The broker's database has become read-only: it cannot store or claim messages until its operator lets the broker's user write the file, its -wal and -shm files and their folder again (or remounts the file system read-write). Try again later.";

    public const string Locked =
        "The broker's database is locked by another program (a sqlite3 shell with a transaction open, a VACUUM): the broker cannot store or claim messages until it lets go. Try again shortly.";

    public const string DiskError =
        "The broker's disk failed to read or write (an I/O error): it cannot store or claim messages until the disk works again. Try again later.";

    public const string DatabaseDeleted =
        "The broker's database file was deleted or replaced while it ran: it cannot store messages that would outlast its restart. Its operator must restart it.";

    public const string Unknown = "The broker could not reach its storage. Try again shortly.";

    public static CommitFailure Of(Exception exception) => exception switch
    {
        SqliteException { SqliteExtendedErrorCode: SqliteReadOnlyDbMoved } => new("database deleted", DatabaseDeleted),
        SqliteException sqlite => (sqlite.SqliteErrorCode & 0xFF) switch
        {
            SqliteFull => new("disk full", DiskFull),
            SqliteIoError => new("disk I/O error", DiskError),
            SqliteReadOnly => new("database read-only", ReadOnly),
            SqliteBusy => new("database locked", Locked),
            var code => new($"SQLite error {code}", Unknown),
        },
        DatabaseDeletedException => new("database deleted", DatabaseDeleted),
        _ => new(exception.GetType().FullName ?? exception.GetType().Name, Unknown),
    };
}
