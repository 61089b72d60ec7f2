using WonderQ.Broker.Auth;
using WonderQ.Broker.Health;
using WonderQ.Broker.Infrastructure;
using WonderQ.Broker.Messages;
using WonderQ.Broker.Queues;
using WonderQ.Broker.Storage;
using WonderQ.Shared.Validation;
using WonderQ.Shared.Web;

namespace WonderQ.Broker;

public class Program
{
    public static int Main(string[] args) => WebConventions.Run("broker", () => CreateApp(args));

    public static WebApplication CreateApp(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args).ReadSettingsShippedWith(typeof(Program));
        var services = builder.Services;

        services.AddWonderQConventions();
        services.AddOptions<LimitsOptions>().ValidateConsumeDefaults().ValidatePeekDefault();
        services.AddSingleton<IProblemMapper, StoreProblemMapper>();
        services.AddOptions<ApiKeyOptions>().BindSettings(ApiKeyOptions.Section)
            .PostConfigure<IConfiguration>((options, configuration) => options.KeyPaths =
                [.. configuration.GetSection($"{ApiKeyOptions.Section}:{nameof(ApiKeyOptions.ApiKeys)}").GetChildren().Select(key => key.Path)]);
        services.AddOpenApi(options => options.AddWonderQConventions().AddApiKeySecurity());

        services.AddMessageStore(builder.Configuration);
        services.AddSingleton<WaitingConsumers>();
        services.AddSingleton<LongPoll>();
        services.AddHostedService<WaitingCapWarning>();
        services.AddOptions<MemoryOptions>().BindSettings(MemoryOptions.Section);
        services.AddHostedService<IdleMemoryRelease>();

        var app = builder.Build().ValidateSettings().ClaimStore();

        app.UseWonderQProblems();
        app.UseApiKeys();
        app.UseWonderQRequestChecks();

        // The one document there is, by its path: the template route would answer any other name with a text/plain 404.
        app.MapOpenApi("/openapi/v1.json");
        app.MapHealth();
        app.MapQueues();
        app.MapMessages();
        return app;
    }
}
