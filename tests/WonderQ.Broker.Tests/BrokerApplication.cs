using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using WonderQ.Broker.Messages;

namespace WonderQ.Broker.Tests;

/// <summary>
/// The real broker over an in-memory HTTP server, on a SQLite file of its own. The clock is a
/// <see cref="FakeTimeProvider"/> unless the test asks for the system clock, so visibility timeouts and long-poll
/// deadlines run out when a test advances time rather than after a sleep.
/// </summary>
public sealed class BrokerApplication : WebApplicationFactory<Program>
{
    private readonly TempDatabase? _database;
    private readonly IReadOnlyDictionary<string, string> _settings;

    /// <param name="databasePath">
    /// The database file, left as it is for the test that gave it (a restart's second broker opens it again); when null,
    /// a file in a temp directory of the broker's own, removed with it.
    /// </param>
    /// <param name="systemClock">Keep the real clock (for tests that measure throughput under real time).</param>
    /// <param name="clock">A fake clock of the test's own; a fresh one when null.</param>
    /// <param name="settings">Settings over the broker's appsettings.json (a limit, say).</param>
    public BrokerApplication(
        string? databasePath = null,
        bool systemClock = false,
        FakeTimeProvider? clock = null,
        IReadOnlyDictionary<string, string>? settings = null)
    {
        if (databasePath is null)
        {
            _database = new TempDatabase();
        }

        DatabasePath = databasePath ?? _database!.Path;
        Clock = systemClock ? null : clock ?? new FakeTimeProvider(StartTime);
        _settings = settings ?? new Dictionary<string, string>();
    }

    /// <summary>
    /// A broker on PostgreSQL (<see cref="PostgresServer"/>), in a fresh schema, or in the one of
    /// <paramref name="connectionString"/> to share it with another broker.
    /// </summary>
    public static BrokerApplication OnPostgres(
        string? connectionString = null, FakeTimeProvider? clock = null, bool systemClock = false, IReadOnlyDictionary<string, string>? settings = null) =>
        new(
            systemClock: systemClock,
            clock: clock,
            settings: new Dictionary<string, string>(settings ?? new Dictionary<string, string>())
            {
                ["Storage:Provider"] = "postgres",
                // A fake clock is days behind the server's, which the broker warns of at start.
                ["Logging:LogLevel:WonderQ.Broker.Storage.Postgres.PostgresDatabase"] = "Error",
                ["Storage:Postgres:ConnectionString"] = connectionString ?? PostgresServer.CreateSchema(),
            });

    /// <summary>The PostgreSQL connection string when this broker stores there; null on SQLite.</summary>
    public string? PostgresConnectionString => _settings.GetValueOrDefault("Storage:Postgres:ConnectionString");

    /// <summary>
    /// Runs <paramref name="sql"/> on this broker's store, behind the broker's back: for a state no request can reach in a
    /// test's time (a count near its limit). Written for both stores, which share their tables' names and columns.
    /// </summary>
    public void ExecuteInStore(string sql)
    {
        if (PostgresConnectionString is { } postgres)
        {
            using var connection = new NpgsqlConnection(postgres);
            connection.Open();
            using var command = new NpgsqlCommand(sql, connection);
            command.ExecuteNonQuery();
        }
        else
        {
            using var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            command.ExecuteNonQuery();
        }
    }

    /// <summary>Where a broker's fake clock starts.</summary>
    public static DateTimeOffset StartTime { get; } = new(2026, 11, 22, 14, 8, 0, TimeSpan.Zero);

    public string DatabasePath { get; }

    /// <summary>The broker's clock; null when it runs on the system clock.</summary>
    public FakeTimeProvider? Clock { get; }

    /// <summary>The fake clock; fails the test if this broker runs on the system clock.</summary>
    public FakeTimeProvider FakeClock => Clock ?? throw new InvalidOperationException("This broker runs on the system clock.");

    /// <summary>The consumers parked in a long poll right now.</summary>
    public int WaitingConsumerCount => Services.GetRequiredService<WaitingConsumers>().Count;

    /// <summary>This broker with <paramref name="logs"/> among its loggers, for a test to read what it logged.</summary>
    public WebApplicationFactory<Program> WithLog(params ILoggerProvider[] logs) =>
        WithWebHostBuilder(builder => builder.ConfigureTestServices(services =>
        {
            foreach (var log in logs)
            {
                services.AddSingleton(log);
            }
        }));

    protected override IHost CreateHost(IHostBuilder builder) => InProcessStart.Start(builder, base.CreateHost);

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Storage:Sqlite:Path", DatabasePath);
        // Its collection is the test runner's process's, not this broker's to make; and its timer, made on the fake
        // clock, would count among the timers tests wait for (IdleMemoryReleaseTests drive it on its own).
        builder.UseSetting("Memory:IdleCollectAfter", "00:00:00");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        // The broker's request logging would bury a failing test's output.
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        builder.ConfigureTestServices(services =>
        {
            services.AddSingleton<InFlightRequests>();
            services.AddHostedService(sp => sp.GetRequiredService<InFlightRequests>());
            services.AddTransient<IStartupFilter, InFlightRequests.StartupFilter>();
            if (Clock is not null)
            {
                services.RemoveAll<TimeProvider>();
                services.AddSingleton<TimeProvider>(Clock);
            }
        });
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _database?.Dispose();
        }
    }
}
