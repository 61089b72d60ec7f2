using System.ComponentModel.DataAnnotations;

namespace WonderQ.Broker.Storage;

/// <summary>Section <c>Storage</c>.</summary>
public sealed class StorageOptions : IValidatableObject
{
    public const string Section = "Storage";

    /// <summary><c>sqlite</c> (the default: one broker, one file) or <c>postgres</c> (brokers sharing one database).</summary>
    public string Provider { get; set; } = "sqlite";

    internal bool IsPostgres => string.Equals(Provider, "postgres", StringComparison.OrdinalIgnoreCase);

    public SqliteStorageOptions Sqlite { get; set; } = new();

    public PostgresStorageOptions Postgres { get; set; } = new();

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (IsPostgres)
        {
            foreach (var result in Postgres.Validate())
            {
                yield return result;
            }
        }
        else if (!string.Equals(Provider, "sqlite", StringComparison.OrdinalIgnoreCase))
        {
            yield return new ValidationResult($"Storage:Provider '{Provider}' is not supported; use 'sqlite' or 'postgres'.", [nameof(Provider)]);
        }
        else if (!string.IsNullOrEmpty(Postgres.ConnectionString))
        {
            // Ignored, it would leave the operator believing the messages are in PostgreSQL.
            yield return new ValidationResult(
                "Storage:Postgres:ConnectionString is set, but Storage:Provider is 'sqlite': the broker would store in Storage:Sqlite:Path. Set Storage:Provider to 'postgres', or remove the connection string.",
                ["Postgres.ConnectionString"]);
        }

        // Not refused over values the broker would not use (a value of the wrong type still is, when it is bound).
        if (IsPostgres)
        {
            yield break;
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

/// <summary>Section <c>Storage:Postgres</c>, read when <c>Storage:Provider</c> is <c>postgres</c>.</summary>
public sealed class PostgresStorageOptions
{
    /// <summary>An Npgsql connection string; its Search Path names the schema the broker's tables live in.</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>
    /// How long the connection that hears other brokers' changes may stay quiet before the broker checks that it is
    /// still there: a server gone away says nothing to a connection that only listens.
    /// </summary>
    public TimeSpan NotificationCheckInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long that check may go unanswered before the broker counts the connection lost and connects again: a server
    /// that froze, or a network that drops packets rather than refusing them, would otherwise hold it deaf for as long as
    /// the operating system keeps a silent connection open. Whole seconds, as Npgsql counts a command's timeout.
    /// </summary>
    public int NotificationCheckTimeoutSeconds { get; set; } = 5;

    /// <summary>How long the broker waits before it connects again to hear other brokers' changes, after losing that connection.</summary>
    public TimeSpan NotificationRetryInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a stopping broker waits for the server to take the notification of its last requests' changes; the
    /// other brokers' consumers sleep through whatever it could not tell, until their wait runs out.
    /// </summary>
    public TimeSpan FinalNotificationTimeout { get; set; } = TimeSpan.FromSeconds(2);

    internal bool FinalNotificationTimeoutValid => FinalNotificationTimeout >= TimeSpan.Zero && FinalNotificationTimeout <= TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long a consume that found a queue empty lets this broker's next consumers of that queue park without a claim
    /// of their own, while it hears of no change to the queue. It bounds how long a change that another broker committed
    /// but never announced (it died between its commit and its notification) goes unseen by consumers arriving here.
    /// </summary>
    public TimeSpan EmptyLookLifetime { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The most sends that go in as one statement and one commit; the rest wait for the next.</summary>
    public int MaxBatchSends { get; set; } = 256;

    /// <summary>
    /// The most bytes of message bodies in such a statement (always one message at least): they go to the server as one
    /// parameter, and PostgreSQL takes one of at most 1 GB.
    /// </summary>
    public long MaxBatchSendBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>The most deletes that go in as one statement and one commit; the rest wait for the next.</summary>
    public int MaxBatchDeletes { get; set; } = 256;

    internal IEnumerable<ValidationResult> Validate()
    {
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            yield return new ValidationResult(
                "Storage:Postgres:ConnectionString must be set when Storage:Provider is 'postgres' (for example Host=127.0.0.1;Port=5432;Database=wonderq;Username=wonderq).",
                ["Postgres.ConnectionString"]);
        }
        else if (Parse(ConnectionString) is not { } connection)
        {
            // Npgsql's own message names the part it could not read, which may be a piece of a password.
            yield return new ValidationResult(
                "Storage:Postgres:ConnectionString is not a connection string Npgsql reads: a key it does not know, or a value of the wrong form (a value with a ';' in it goes in quotes).",
                ["Postgres.ConnectionString"]);
        }
        else if (connection.Pooling && connection.MaxPoolSize < 2)
        {
            // The listening connection is never given back: a pool of one would leave every request waiting for it, and
            // answered 503 as if the server were down.
            yield return new ValidationResult(
                $"Storage:Postgres:ConnectionString sets Maximum Pool Size {connection.MaxPoolSize}: the broker holds one connection to hear the other brokers' changes, and needs at least one more for requests. Set it to 2 or more.",
                ["Postgres.ConnectionString"]);
        }

        if (NotificationCheckInterval < TimeSpan.FromSeconds(1) || NotificationCheckInterval > TimeSpan.FromHours(1))
        {
            yield return new ValidationResult(
                "Storage:Postgres:NotificationCheckInterval must be from 00:00:01 to 01:00:00.", ["Postgres.NotificationCheckInterval"]);
        }

        if (NotificationCheckTimeoutSeconds is < 1 or > 300)
        {
            yield return new ValidationResult(
                "Storage:Postgres:NotificationCheckTimeoutSeconds must be from 1 to 300.", ["Postgres.NotificationCheckTimeoutSeconds"]);
        }

        if (EmptyLookLifetime < TimeSpan.Zero || EmptyLookLifetime > TimeSpan.FromMinutes(1))
        {
            yield return new ValidationResult("Storage:Postgres:EmptyLookLifetime must be from 00:00:00 to 00:01:00.", ["Postgres.EmptyLookLifetime"]);
        }

        if (MaxBatchSends is < 1 or > 10_000)
        {
            yield return new ValidationResult("Storage:Postgres:MaxBatchSends must be from 1 to 10000.", ["Postgres.MaxBatchSends"]);
        }

        if (MaxBatchSendBytes is < 1024 or > 268_435_456)
        {
            yield return new ValidationResult("Storage:Postgres:MaxBatchSendBytes must be from 1024 to 268435456.", ["Postgres.MaxBatchSendBytes"]);
        }

        if (MaxBatchDeletes is < 1 or > 10_000)
        {
            yield return new ValidationResult("Storage:Postgres:MaxBatchDeletes must be from 1 to 10000.", ["Postgres.MaxBatchDeletes"]);
        }

        if (NotificationRetryInterval < TimeSpan.FromMilliseconds(10) || NotificationRetryInterval > TimeSpan.FromMinutes(5))
        {
            yield return new ValidationResult(
                "Storage:Postgres:NotificationRetryInterval must be from 00:00:00.010 to 00:05:00.", ["Postgres.NotificationRetryInterval"]);
        }

        // Also held under the host's shutdown timeout, which would cut it short: see AddMessageStore, which compares the two.
        if (!FinalNotificationTimeoutValid)
        {
            yield return new ValidationResult(
                "Storage:Postgres:FinalNotificationTimeout must be from 00:00:00 to 00:01:00.", ["Postgres.FinalNotificationTimeout"]);
        }
    }

    private static Npgsql.NpgsqlConnectionStringBuilder? Parse(string connectionString)
    {
        try
        {
            return new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }
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
        set => field = value?.ToUpperInvariant()!;
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
    /// How long a connection waits on a lock held elsewhere (another process's transaction, a <c>sqlite3</c> shell's or a
    /// <c>VACUUM</c>; a checkpoint or recovery) before failing; whole seconds, rounded up.
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
