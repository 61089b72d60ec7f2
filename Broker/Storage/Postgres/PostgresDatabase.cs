using System.Data;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;
using WonderQ.Shared.Web;

namespace WonderQ.Broker.Storage.Postgres;

/// <summary>
/// The PostgreSQL database several brokers share: its connections, its schema, the channel its brokers tell each
/// other of changes on (<see cref="PostgresNotifications"/>), and what its failures mean to a client.
/// </summary>
internal sealed class PostgresDatabase : IAsyncDisposable
{
    private readonly StoreClock _time;
    private readonly ILogger<PostgresDatabase> _logger;
    private readonly LogThrottle _failureLog;
    private readonly LogThrottle _notifyFailureLog;

    static PostgresDatabase() => DefaultTypeMap.MatchNamesWithUnderscores = true;

    public PostgresDatabase(IOptions<StorageOptions> options, IOptions<OutageOptions> outages, StoreClock time, ILogger<PostgresDatabase> logger)
    {
        _time = time;
        _logger = logger;
        _failureLog = new LogThrottle(time, outages.Value.LogInterval);
        _notifyFailureLog = new LogThrottle(time, outages.Value.LogInterval);
        var connection = new NpgsqlConnectionStringBuilder(options.Value.Postgres.ConnectionString);

        // Every statement the store runs is one of some thirty (PostgresSql), so each connection keeps them all prepared
        // rather than have the server parse and plan them on every request; a connection string that sets Max Auto
        // Prepare has its way. Asked of Keys, not ContainsKey, which is true of every key Npgsql knows, set or not.
        if (!connection.Keys.Cast<string>().Contains("Max Auto Prepare", StringComparer.OrdinalIgnoreCase))
        {
            connection.MaxAutoPrepare = 32;
        }

        DataSource = NpgsqlDataSource.Create(connection);

        // One connection is the listener's (PostgresNotifications); the rest serve requests.
        var forRequests = connection.Pooling ? connection.MaxPoolSize - 1 : int.MaxValue;
        LoneWaits = new SemaphoreSlim(Math.Max(1, forRequests / 2));
    }

    public NpgsqlDataSource DataSource { get; }

    /// <summary>
    /// The connections statements that may wait on their own for a row another transaction holds (a send or a delete
    /// behind a queue's deletion, which takes seconds for a large queue) hold at once: half of those left to requests.
    /// Thirty producers still sending to a queue being deleted otherwise took every connection, and the sends, claims and
    /// health checks of every other queue waited for one until Npgsql's Timeout, then were answered 503.
    /// </summary>
    public SemaphoreSlim LoneWaits { get; }

    /// <summary>The channel of this deployment's notifications, known once <see cref="Prepare"/> has run.</summary>
    public string Channel { get; private set; } = "";

    /// <summary>
    /// Brings the schema up to date and sets the clock to resume after the latest stamp in the database. Throws
    /// <see cref="StartRefusedException"/> when the server cannot be reached or the schema is not this broker's.
    /// </summary>
    public void Prepare()
    {
        try
        {
            using var connection = DataSource.OpenConnection();
            var schema = connection.ExecuteScalar<string?>(PostgresSql.CurrentSchema)
                ?? throw new StartRefusedException(
                    "the search path of Storage:Postgres:ConnectionString (its Search Path) names no schema that exists and its user may use, so there is nowhere to keep the queues. Create the schema, or grant the user USAGE (and CREATE) on it, or name another.");
            ApplySchema(connection, schema);
            if (connection.ExecuteScalar<string?>(PostgresSql.MissingPrivileges) is { } missing)
            {
                throw new StartRefusedException(
                    $"the user of Storage:Postgres:ConnectionString lacks privileges the broker needs on the WonderQ tables in schema '{schema}': {missing}. Grant them (docs/postgres.md, \"The schema\"), or connect as the user that created the tables.");
            }

            Channel = ChannelFor(schema);
            _logger.LogInformation(
                "Using the PostgreSQL database {Database} on {Host}:{Port}, schema {Schema}", connection.Database, connection.Host, connection.Port, schema);

            // Before the clock is raised to the latest stamp, which would hide how far this one is behind.
            WarnIfClockDiffers(connection);
            if (connection.ExecuteScalar<long?>(PostgresSql.LatestStamp) is { } latest)
            {
                _time.NotBefore(DateTimeOffset.FromUnixTimeMilliseconds(latest));
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or ArgumentException or TimeoutException)
        {
            // A server that answered refused something (a permission, a database that does not exist): saying to check
            // that it is up would point the wrong way.
            var check = ex switch
            {
                PostgresException { SqlState: ['2', '8', ..] } => "Check the user name and password, and that the server lets that user in from here (pg_hba.conf)",
                // Starting up, shutting down, or out of connections: nothing wrong with the setting.
                PostgresException { SqlState: ['5', '7', ..] or ['5', '3', ..] or ['0', '8', ..] } =>
                    "The server is not taking this connection now: start the broker again once it is up and has a connection to spare (max_connections, and the role's CONNECTION LIMIT)",
                PostgresException => "Check that the database exists and that its user may create tables in the schema",
                _ => "Check that the server is up and that the setting names it",
            };
            throw new StartRefusedException(
                $"cannot use the PostgreSQL database of Storage:Postgres:ConnectionString: {Reason(ex)}. {check}.", ex);
        }
    }

    /// <summary>
    /// Brokers sharing a database stamp reservations with their own clocks, so one whose clock is ahead of another's by
    /// more than a visibility timeout sees that broker's reservations as run out at once, and hands the message out
    /// again. The server's clock is the one reference they share.
    /// </summary>
    private void WarnIfClockDiffers(NpgsqlConnection connection)
    {
        var asked = _time.GetTimestamp();
        var server = DateTimeOffset.FromUnixTimeMilliseconds(connection.ExecuteScalar<long>(PostgresSql.ServerClock));
        var roundTrip = _time.GetElapsedTime(asked);
        var offset = _time.GetUtcNow() - roundTrip / 2 - server;
        if (offset.Duration() > TimeSpan.FromSeconds(1))
        {
            _logger.LogWarning(
                "This broker's clock is {Offset} {Direction} the PostgreSQL server's. Brokers sharing a database must agree on the time to well within a visibility timeout, or one can hand out a message another has reserved; keep their clocks in step (NTP)",
                offset.Duration(),
                offset > TimeSpan.Zero ? "ahead of" : "behind");
        }
    }

    /// <summary>
    /// Runs an operation on a pooled connection. A failure of the server or of the way to it is answered 503, which a
    /// client retries; SQL the server refuses stays a 500 (a bug, or a schema that is not the broker's).
    /// </summary>
    public Task<T> RunAsync<T>(Func<NpgsqlConnection, Task<T>> operation, CancellationToken cancellationToken) => RunAsync(async () =>
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await operation(connection);
    });

    /// <summary>
    /// As <see cref="RunAsync{T}(Func{NpgsqlConnection, Task{T}}, CancellationToken)"/>, for statements that change
    /// nothing (a lookup, a count, a peek): a failure midway committed nothing either, and the 503 says so, as SQLite's
    /// does. Said to "may have committed", a client reported a send whose queue lookup failed as perhaps stored.
    /// </summary>
    public async Task<T> ReadAsync<T>(Func<NpgsqlConnection, Task<T>> operation, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            return await operation(connection);
        }
        catch (Exception ex) when (IsOutage(ex))
        {
            throw Unavailable(ex, mayHaveCommitted: false);
        }
    }

    /// <summary>
    /// A pooled connection. When none can be had (a server that refuses connections, as while it restarts), nothing of
    /// the operation reached it: the 503 says so, and a client may repeat a send without storing it twice.
    /// </summary>
    public async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await DataSource.OpenConnectionAsync(cancellationToken);
        }
        catch (Exception ex) when (IsOutage(ex))
        {
            throw Unavailable(ex, mayHaveCommitted: false);
        }
    }

    /// <summary>An operation on connections of its own (<see cref="PostgresSends"/>, <see cref="PostgresDeletes"/>), its failures told to a client as above.</summary>
    public async Task<T> RunAsync<T>(Func<Task<T>> operation)
    {
        try
        {
            return await operation();
        }
        // Also when the client has gone: a statement not cancelled with it (a send's, a claim's) can still time out, and
        // that outage is counted and logged as any other.
        catch (Exception ex) when (IsOutage(ex))
        {
            throw Unavailable(ex);
        }
    }

    /// <summary>What a client is told of a failure of the server.</summary>
    public const string Unavailability = "The PostgreSQL database is unavailable. Try again shortly.";

    /// <summary>A failure of the server, logged (a line at most every Outages:LogInterval), as a client is told of it.</summary>
    private StoreUnavailableException Unavailable(Exception exception, bool mayHaveCommitted = true)
    {
        LogFailure(exception);
        return new StoreUnavailableException(Unavailability, exception) { MayHaveCommitted = mayHaveCommitted };
    }

    /// <summary>
    /// Not SQL the server refused (class 42: syntax, a missing table or column; 22: bad data; 23: a constraint the
    /// store does not expect), which would fail the same way on every retry.
    /// </summary>
    public static bool IsOutage(Exception ex) => ex switch
    {
        PostgresException pg => pg.SqlState[..2] is not ("42" or "22" or "23" or "2B" or "P0"),
        NpgsqlException or TimeoutException => true,
        _ => false,
    };

    /// <summary>
    /// Tells the other brokers of changes this one has committed; false when the server did not take them (logged, a
    /// line at most every Outages:LogInterval), for the caller to try again.
    /// </summary>
    public async Task<bool> NotifyAsync(IReadOnlyList<string> payloads, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await DataSource.OpenConnectionAsync(cancellationToken);
            await connection.ExecuteAsync(new CommandDefinition(
                PostgresSql.Notify, new { channel = Channel, payloads }, cancellationToken: cancellationToken));
            return true;
        }
        // Whatever it was, and not only an outage (a server that refuses pg_notify to this user): untold, the changes
        // would leave the other brokers' consumers asleep beside them, so they are tried again, and the log says why.
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            if (_notifyFailureLog.ShouldLog(out var unlogged, out var spell))
            {
                _logger.LogWarning(
                    IsOutage(ex) && !spell ? null : ex,
                    "Could not tell the other brokers of changes: {Reason}{Repeats}; trying again",
                    Reason(ex),
                    LogThrottle.Repeats(unlogged, "failure", "failures"));
            }

            return false;
        }
    }

    public ValueTask DisposeAsync() => DataSource.DisposeAsync();

    /// <summary>
    /// The channel name: PostgreSQL's notifications go to every session of the database that listens, whatever its
    /// schema, so each schema (each deployment) has a channel of its own. Hashed past PostgreSQL's 63-byte limit.
    /// </summary>
    internal static string ChannelFor(string schema)
    {
        var channel = $"wonderq:{schema}";
        return Encoding.UTF8.GetByteCount(channel) <= 63
            ? channel
            : "wonderq:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(schema)))[..32];
    }

    private static string Reason(Exception ex) => ex switch
    {
        PostgresException pg => $"{pg.SqlState}: {pg.MessageText}",
        // Not when they say the same (a host name that does not resolve): "Name or service not known: Name or service not known".
        _ when ex.InnerException is { } inner && ex is NpgsqlException && inner.Message.TrimEnd('.') != ex.Message.TrimEnd('.') =>
            $"{ex.Message.TrimEnd('.')}: {inner.Message.TrimEnd('.')}",
        _ => ex.Message.TrimEnd('.'),
    };

    private void ApplySchema(NpgsqlConnection connection, string schema)
    {
        var scripts = SchemaScripts.Load("WonderQ.Broker.PostgresSchema.");

        using var transaction = connection.BeginTransaction();
        connection.Execute(PostgresSql.LockSchema, transaction: transaction);
        if (!connection.ExecuteScalar<bool>(PostgresSql.SchemaVersionsExist, transaction: transaction))
        {
            connection.Execute(PostgresSql.CreateSchemaVersions, transaction: transaction);
        }

        var current = connection.ExecuteScalar<int>(PostgresSql.SchemaVersion, transaction: transaction);
        var latest = scripts[^1].Version;
        if (current > latest)
        {
            throw new StartRefusedException(
                $"the WonderQ tables in PostgreSQL schema '{schema}' are version {current}, newer than this broker's {latest}: a newer WonderQ broker uses them. Run that broker, or point this one at another schema.");
        }

        // All in one transaction: a broker stopped halfway leaves the schema as it found it, and PostgreSQL's DDL is
        // transactional.
        foreach (var (version, sql) in scripts.Where(s => s.Version > current))
        {
            connection.Execute(sql, transaction: transaction, commandType: CommandType.Text);
            connection.Execute(PostgresSql.RecordSchemaVersion, new { version }, transaction);
            _logger.LogInformation("Applied PostgreSQL schema version {Version} to schema {Schema}", version, schema);
        }

        transaction.Commit();
    }

    private void LogFailure(Exception exception)
    {
        if (!_failureLog.ShouldLog(out var unlogged, out var spell))
        {
            return;
        }

        // The stack trace once a spell of failures, as for SQLite's: a server that stays down fails every request.
        _logger.LogError(
            spell ? exception : null,
            "The PostgreSQL database failed a request: {Reason}{Repeats}",
            Reason(exception),
            LogThrottle.Repeats(unlogged, "failure", "failures"));
    }
}
