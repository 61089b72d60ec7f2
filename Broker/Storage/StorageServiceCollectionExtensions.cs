using WonderQ.Broker.Storage.Sqlite;
using WonderQ.Shared.Validation;

namespace WonderQ.Broker.Storage;

public static class StorageServiceCollectionExtensions
{
    public static IServiceCollection AddMessageStore(this IServiceCollection services)
    {
        services.AddOptions<StorageOptions>().BindSettings(StorageOptions.Section);

        services.AddSingleton<StoreClock>();
        services.AddSingleton<QueueActivity>();
        services.AddSingleton<SqliteDatabase>();
        services.AddSingleton<SqliteCommitWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<SqliteCommitWriter>());
        services.AddSingleton<IMessageStore, SqliteMessageStore>();
        return services;
    }

    /// <summary>
    /// Takes ownership of the database file before the host starts, so a broker pointed at a file another broker
    /// owns stops with one clear line rather than a host start-up failure and its stack trace.
    /// </summary>
    public static WebApplication ClaimStore(this WebApplication app)
    {
        app.Services.GetRequiredService<SqliteDatabase>().TakeOwnership();
        return app;
    }
}
