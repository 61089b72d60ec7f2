namespace WonderQ.Broker.Storage.Sqlite;

/// <summary>The database file, or its write-ahead log, was deleted (or another file renamed over it) while the broker had it open.</summary>
internal sealed class DatabaseDeletedException(string path, string walPath)
    : Exception($"The database {path} or its write-ahead log {walPath} was deleted or replaced while the broker ran. Restart the broker.");
