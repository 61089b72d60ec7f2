namespace WonderQ.Broker.Storage.Sqlite;

/// <summary>
/// The database file, or its write-ahead log, was deleted (or another file renamed over it) while the broker had it open.
/// A bare restart is not the fix: the -wal and -shm left at the path are the old file's, which SQLite would read as a
/// restored backup's own (the backup then silently not restored, or damaged), so the message says what to do with them.
/// </summary>
internal sealed class DatabaseDeletedException(string path, string walPath)
    : Exception(
        $"The database {path} or its write-ahead log {walPath} was deleted or replaced while the broker ran. Stop the broker. Before starting it again: "
        + $"if the file was moved away, move {walPath} beside it as its -wal (or the file back), as the file's last commits are in it; "
        + $"if another file was put at the path (a backup restored), remove {walPath} and {path}-shm first, as they belong to the file the broker had open "
        + "and SQLite would read them as the new file's own (docs/reliability.md, \"A database deleted under it\").");
