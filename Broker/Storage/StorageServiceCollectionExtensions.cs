using Microsoft.Extensions.Options;
using WonderQ.Broker.Storage.Postgres;
using WonderQ.Broker.Storage.Sqlite;
using WonderQ.Shared.Validation;

namespace WonderQ.Broker.Storage;

public static class StorageServiceCollectionExtensions
{
    /// <summary>The store <c>Storage:Provider</c> names; an unknown one is refused when the options are validated at start.</summary>
    public static IServiceCollection AddMessageStore(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<StorageOptions>().BindSettings(StorageOptions.Section)
            // The host stops waiting at its shutdown timeout: a longer wait for the last notification would be cut short there.
            .Validate<IOptions<HostOptions>>(
                (o, h) => !o.IsPostgres || o.Postgres.FinalNotificationTimeout == TimeSpan.Zero || !o.Postgres.FinalNotificationTimeoutValid
                    || h.Value.ShutdownTimeout == Timeout.InfiniteTimeSpan || o.Postgres.FinalNotificationTimeout < h.Value.ShutdownTimeout,
                "Storage:Postgres:FinalNotificationTimeout must be less than the host's shutdown timeout (shutdownTimeoutSeconds, 30 unless set).");

        // The key alone: binding the whole section here would fail on any other bad value before validation can say it.
        var postgres = new StorageOptions { Provider = configuration[$"{StorageOptions.Section}:{nameof(StorageOptions.Provider)}"] ?? "" }.IsPostgres;

        services.AddSingleton<StoreClock>();

        // Shared with other brokers, a store hears of their changes only once it listens: deaf until then.
        services.AddSingleton(new QueueActivity { Deaf = postgres });
        if (postgres)
        {
            services.AddSingleton<PostgresDatabase>();
            services.AddSingleton<PostgresNotifications>();
            services.AddSingleton<PostgresSends>();
            services.AddSingleton<PostgresDeletes>();
            services.AddHostedService(sp => sp.GetRequiredService<PostgresNotifications>());
            services.AddSingleton<IMessageStore, PostgresMessageStore>();
            return services;
        }

        services.AddSingleton<SqliteDatabase>();
        services.AddSingleton<SqliteCommitWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<SqliteCommitWriter>());
        services.AddSingleton<IMessageStore, SqliteMessageStore>();
        return services;
    }

    /// <summary>
    /// Takes ownership of the SQLite file, or brings the PostgreSQL schema up to date, before the host starts, so a
    /// broker that cannot use its store stops with one clear line rather than a host start-up failure and its stack trace.
    /// </summary>
    public static WebApplication ClaimStore(this WebApplication app)
    {
        if (app.Services.GetService<PostgresDatabase>() is { } postgres)
        {
            postgres.Prepare();
        }
        else
        {
            app.Services.GetRequiredService<SqliteDatabase>().TakeOwnership();
        }

        return app;
    }
}
