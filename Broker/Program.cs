using Microsoft.Extensions.Options;
using WonderQ.Broker.Auth;
using WonderQ.Broker.Health;
using WonderQ.Broker.Infrastructure;
using WonderQ.Broker.Messages;
using WonderQ.Broker.Queues;
using WonderQ.Broker.Storage;
using WonderQ.Shared.Web;

namespace WonderQ.Broker;

public class Program
{
    public static int Main(string[] args)
    {
        try
        {
            CreateApp(args).Run();
            return 0;
        }
        catch (Exception ex) when (ex is StoreOwnershipException or OptionsValidationException)
        {
            // A refusal to start is the operator's to fix: say what and how, without a stack trace.
            Console.Error.WriteLine($"WonderQ broker did not start: {ex.Message}");
            return 1;
        }
    }

    public static WebApplication CreateApp(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        var services = builder.Services;

        services.AddWonderQConventions();
        services.AddSingleton<IProblemMapper, StoreProblemMapper>();
        services.AddOptions<ApiKeyOptions>().BindConfiguration(ApiKeyOptions.Section);
        services.AddOpenApi();

        services.AddMessageStore();
        services.AddSingleton<WaitingConsumers>();
        services.AddSingleton<LongPoll>();

        var app = builder.Build();

        app.UseWonderQProblems();
        app.UseApiKeys();
        app.UseWonderQRequestChecks();

        app.MapOpenApi();
        app.MapHealth();
        app.MapQueues();
        app.MapMessages();
        return app;
    }
}
