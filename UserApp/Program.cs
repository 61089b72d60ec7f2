using FluentValidation;
using Microsoft.Extensions.DependencyInjection.Extensions;
using WonderQ.Shared.Client;
using WonderQ.Shared.Validation;
using WonderQ.Shared.Web;
using WonderQ.UserApp.Dispatch;
using WonderQ.UserApp.Listen;

namespace WonderQ.UserApp;

public class Program
{
    public static int Main(string[] args) => WebConventions.Run("UserApp", () => CreateApp(args));

    public static WebApplication CreateApp(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args).ReadSettingsShippedWith(typeof(Program));
        var services = builder.Services;

        // The UserApp takes no peek, applies none of the broker's defaults and holds no waiting consumers.
        services.AddWonderQConventions(
            nameof(LimitsOptions.DefaultPeekSize),
            nameof(LimitsOptions.DefaultConsumeSize),
            nameof(LimitsOptions.DefaultWaitTimeSeconds),
            nameof(LimitsOptions.DefaultVisibilityTimeoutSeconds),
            nameof(LimitsOptions.MaxWaitingConsumers),
            nameof(LimitsOptions.MaxQueues),
            nameof(LimitsOptions.MaxBatchBytes));
        services.AddSingleton<IProblemMapper, BrokerProblemMapper>();
        services.AddOptions<UserAppOptions>().BindSettings(UserAppOptions.Section).ValidateListenerDefaultsWithinLimits();

        services.AddOpenApi(options => options.AddWonderQConventions().AddStubRange());

        services.AddValidatorsFromAssemblyContaining<DispatchRequestValidator>(ServiceLifetime.Singleton);

        services.AddBrokerClient();
        // A broker's restart is ridden out within a call's retries, and the loops log only what outlasts them: the
        // client says it. The DevTool has its own log of a broker it cannot reach.
        services.AddSingleton<BrokerRetryLog>();
        services.AddScoped<Dispatcher>();
        services.AddSingleton<DispatchBudget>();
        // Processed messages go to stdout as plain lines; tests swap in their own writer.
        services.TryAddSingleton(new MessageOutput(Console.Out));
        services.AddSingleton<ListenerRegistry>();
        services.AddHostedService(sp => sp.GetRequiredService<ListenerRegistry>());

        var app = builder.Build().ValidateSettings();

        app.UseWonderQProblems();
        app.RefuseBrokerClients("UserApp");
        app.UseWonderQRequestChecks();
        app.UseStoppingRequests("UserApp");

        // The one document there is, by its path: the template route would answer any other name with a text/plain 404.
        app.MapOpenApi("/openapi/v1.json");
        app.MapDispatch();
        app.MapListen();
        return app;
    }
}
