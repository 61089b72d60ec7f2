using WonderQ.Broker.Storage.Sqlite;

namespace WonderQ.Broker.Storage;

public static class StorageServiceCollectionExtensions
{
    public static IServiceCollection AddMessageStore(this IServiceCollection services)
    {
        services.AddOptions<StorageOptions>()
            .BindConfiguration(StorageOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        services.AddSingleton<QueueActivity>();
        services.AddSingleton<SqliteDatabase>();
        services.AddSingleton<SqliteCommitWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<SqliteCommitWriter>());
        services.AddSingleton<IMessageStore, SqliteMessageStore>();
        return services;
    }
}
