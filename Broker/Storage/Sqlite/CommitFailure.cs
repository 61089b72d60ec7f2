using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace WonderQ.Broker.Storage.Sqlite;

/// <summary>
/// Why a write batch failed, as far as SQLite says: what a client is told (the 503's detail), and the kind of failure
/// the writer's log counts repeats of.
/// </summary>
internal sealed record CommitFailure(string Kind, string Detail)
{
    /// <summary>
    /// Whether the batch may be on disk all the same: an I/O error can come from the sync after SQLite wrote the
    /// commit's frames, which a recovery then replays, and of a failure SQLite does not name nothing is known. A full
    /// disk, a lock or a read-only file stop the write before the commit is in the log.
    /// </summary>
    public bool MayHaveCommitted => Detail is DiskError or Unknown;

    public const string DiskFull = "The broker's disk is full: it cannot store or claim messages until space is freed. Try again later.";

    public const string ReadOnly =
        "The broker's database has become read-only: it cannot store or claim messages until its operator lets the broker's user write the file, its -wal and -shm files and their folder again (or remounts the file system read-write). Try again later.";

    public const string Locked =
        "The broker's database is locked by another program (a sqlite3 shell with a transaction open, a VACUUM): the broker cannot store or claim messages until it lets go. Try again shortly.";

    public const string DiskError =
        "The broker's disk failed to read or write (an I/O error): it cannot store or claim messages until the disk works again. Try again later.";

    // Says when to try again, as every detail here does: the DevTool and the UserApp otherwise add "Try again shortly",
    // which no retry before the restart can honour.
    public const string DatabaseDeleted =
        "The broker's database file was deleted or replaced while it ran: it cannot store messages that would outlast its restart. Its operator must restart it. Try again once it has.";

    public const string Unknown = "The broker could not reach its storage. Try again shortly.";

    public static CommitFailure Of(Exception exception) => exception switch
    {
        // The file renamed or deleted since SQLite opened it.
        SqliteException { SqliteExtendedErrorCode: raw.SQLITE_READONLY_DBMOVED } => new("database deleted", DatabaseDeleted),
        // The extended codes (a failed read, write, fsync...) share their primary code as their low byte.
        SqliteException sqlite => (sqlite.SqliteErrorCode & 0xFF) switch
        {
            // The disk (or the database's max_page_count) has no room for the change.
            raw.SQLITE_FULL => new("disk full", DiskFull),
            raw.SQLITE_IOERR => new("disk I/O error", DiskError),
            // SQLite refuses to write the file (it can no longer lock or set up its -shm file, say).
            raw.SQLITE_READONLY => new("database read-only", ReadOnly),
            // Another connection held the write lock for all of Storage:Sqlite:BusyTimeout. Only the broker's writer
            // writes, so that is another process: a sqlite3 shell with a transaction open, a VACUUM.
            raw.SQLITE_BUSY => new("database locked", Locked),
            var code => new($"SQLite error {code}", Unknown),
        },
        DatabaseDeletedException => new("database deleted", DatabaseDeleted),
        _ => new(exception.GetType().FullName ?? exception.GetType().Name, Unknown),
    };
}
