using System.ComponentModel.DataAnnotations;

namespace WonderQ.Broker.Storage;

/// <summary>Section <c>Storage</c>.</summary>
public sealed class StorageOptions : IValidatableObject
{
    public const string Section = "Storage";

    /// <summary><c>sqlite</c> (the default).</summary>
    public string Provider { get; set; } = "sqlite";

    public SqliteStorageOptions Sqlite { get; set; } = new();

    /// <summary>Named by the specification for the PostgreSQL store to come; refused when set until then.</summary>
    public PostgresStorageOptions Postgres { get; set; } = new();

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (string.Equals(Provider, "postgres", StringComparison.OrdinalIgnoreCase))
        {
            yield return new ValidationResult(
                "Storage:Provider 'postgres' is not available yet: PostgreSQL storage is planned, and until then the broker stores in SQLite; use 'sqlite'.",
                [nameof(Provider)]);
        }
        else if (!string.Equals(Provider, "sqlite", StringComparison.OrdinalIgnoreCase))
        {
            yield return new ValidationResult($"Storage:Provider '{Provider}' is not supported; use 'sqlite'.", [nameof(Provider)]);
        }
        else if (!string.IsNullOrEmpty(Postgres.ConnectionString))
        {
            // Ignored, it would leave the operator believing the messages are in PostgreSQL.
            yield return new ValidationResult(
                "Storage:Postgres:ConnectionString is set, but PostgreSQL storage is not available yet: the broker stores in Storage:Sqlite:Path; remove the setting.",
                ["Postgres.ConnectionString"]);
        }

        if (string.IsNullOrWhiteSpace(Sqlite.Path))
        {
            yield return new ValidationResult("Storage:Sqlite:Path must name the database file.", ["Sqlite.Path"]);
        }
        else if (Sqlite.Path.Trim() == ":memory:" || Sqlite.Path.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            // The path is a file's, never a SQLite connection string: these would be taken as a file of that name.
            yield return new ValidationResult(
                $"Storage:Sqlite:Path '{Sqlite.Path}' is SQLite's syntax for an in-memory database or a URI, which the broker would take as the name of a file; give the path of a file.",
                ["Sqlite.Path"]);
        }

        if (Sqlite.Synchronous is not ("FULL" or "NORMAL" or "EXTRA"))
        {
            yield return new ValidationResult("Storage:Sqlite:Synchronous must be FULL, EXTRA or NORMAL.", ["Sqlite.Synchronous"]);
        }

        var batchValid = Sqlite.MaxBatchOperations is >= 1 and <= 100_000;
        if (!batchValid)
        {
            yield return new ValidationResult("Storage:Sqlite:MaxBatchOperations must be from 1 to 100000.", ["Sqlite.MaxBatchOperations"]);
        }

        // Compared with MaxBatchOperations only when that is valid, which is said otherwise on its own.
        if (Sqlite.MaxPendingOperations is < 1 or > 1_048_576 || (batchValid && Sqlite.MaxPendingOperations < Sqlite.MaxBatchOperations))
        {
            yield return new ValidationResult(
                "Storage:Sqlite:MaxPendingOperations must be at least Storage:Sqlite:MaxBatchOperations and at most 1048576.",
                ["Sqlite.MaxPendingOperations"]);
        }

        if (Sqlite.WalSizeLimitBytes is < 0 or > 4L * 1024 * 1024 * 1024)
        {
            yield return new ValidationResult("Storage:Sqlite:WalSizeLimitBytes must be from 0 to 4294967296.", ["Sqlite.WalSizeLimitBytes"]);
        }

        if (Sqlite.PurgeBatchSize is < 1 or > 100_000)
        {
            yield return new ValidationResult("Storage:Sqlite:PurgeBatchSize must be from 1 to 100000.", ["Sqlite.PurgeBatchSize"]);
        }

        if (Sqlite.PurgeBatchBytes is < 1 or > 1_073_741_824)
        {
            yield return new ValidationResult("Storage:Sqlite:PurgeBatchBytes must be from 1 to 1073741824.", ["Sqlite.PurgeBatchBytes"]);
        }

        if (Sqlite.PurgeIntervalUnderLoad <= TimeSpan.Zero || Sqlite.PurgeIntervalUnderLoad > TimeSpan.FromMinutes(1))
        {
            yield return new ValidationResult(
                "Storage:Sqlite:PurgeIntervalUnderLoad must be more than 00:00:00 and at most 00:01:00.", ["Sqlite.PurgeIntervalUnderLoad"]);
        }

        // Microsoft.Data.Sqlite counts command timeouts in whole seconds, and 0 there means waiting forever.
        if (Sqlite.BusyTimeout <= TimeSpan.Zero || Sqlite.BusyTimeout > TimeSpan.FromMinutes(5))
        {
            yield return new ValidationResult("Storage:Sqlite:BusyTimeout must be more than 00:00:00 and at most 00:05:00.", ["Sqlite.BusyTimeout"]);
        }
    }
}

/// <summary>Section <c>Storage:Postgres</c>.</summary>
public sealed class PostgresStorageOptions
{
    public string ConnectionString { get; set; } = "";
}

/// <summary>Section <c>Storage:Sqlite</c>.</summary>
public sealed class SqliteStorageOptions
{
    /// <summary>The database file; a relative path is resolved against the content root.</summary>
    public string Path { get; set; } = "data/wonderq.db";

    /// <summary>
    /// SQLite's <c>synchronous</c> setting. FULL syncs the WAL on every commit, so a 201 survives a power loss;
    /// NORMAL survives a process crash but may lose the last commits on power loss. Taken in any case, as
    /// <c>Storage:Provider</c> is and as SQLite takes it, and kept in capitals, the form it is checked in.
    /// </summary>
    public string Synchronous
    {
        get;
        set => field = value.ToUpperInvariant();
    } = "FULL";

    /// <summary>The most operations (sends, claims, deletes) committed together in one transaction.</summary>
    public int MaxBatchOperations { get; set; } = 512;

    /// <summary>How many operations may wait for the writer before new requests wait for room.</summary>
    public int MaxPendingOperations { get; set; } = 16_384;

    /// <summary>
    /// What the write-ahead log is cut back to when it starts over after a checkpoint (SQLite's
    /// <c>journal_size_limit</c>): a burst leaves no larger file behind, and a log kept at this size is not grown again.
    /// </summary>
    public long WalSizeLimitBytes { get; set; } = 64 * 1024 * 1024;

    /// <summary>
    /// How long a connection waits on a lock (only a checkpoint or recovery can hold one) before failing; whole
    /// seconds, rounded up.
    /// </summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How many messages of a deleted queue the writer removes in one transaction (about 10 µs each); the queue itself
    /// is gone at once. A send that arrives meanwhile waits for at most one such chunk.
    /// </summary>
    public int PurgeBatchSize { get; set; } = 1000;

    /// <summary>
    /// At most how many bytes of message bodies such a transaction removes (always one message at least): a large body
    /// is a chain of pages that its delete reads, so 1000 messages of 256 KiB took seconds where 1000 of 1 KiB took
    /// milliseconds.
    /// </summary>
    public long PurgeBatchBytes { get; set; } = 4_194_304;

    /// <summary>
    /// While requests keep the writer busy, how often it still removes a chunk of a deleted queue's messages; an idle
    /// writer removes them one chunk after another.
    /// </summary>
    public TimeSpan PurgeIntervalUnderLoad { get; set; } = TimeSpan.FromMilliseconds(100);
}
