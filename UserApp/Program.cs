using FluentValidation;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
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
        var builder = WebApplication.CreateBuilder(args);
        var services = builder.Services;

        services.AddWonderQConventions();
        services.AddSingleton<IProblemMapper, BrokerProblemMapper>();
        services.AddOptions<UserAppOptions>().BindConfiguration(UserAppOptions.Section).ValidateDataAnnotations()
            // The listener's defaults go to the broker as they are: past these limits every poll would be a 400.
            .Validate<IOptions<LimitsOptions>>((o, l) => o.ListenerSize <= l.Value.MaxBatchSize, "UserApp:ListenerSize must be at most Limits:MaxBatchSize.")
            .Validate<IOptions<LimitsOptions>>((o, l) => o.ListenerWaitTimeSeconds <= l.Value.MaxWaitTimeSeconds, "UserApp:ListenerWaitTimeSeconds must be at most Limits:MaxWaitTimeSeconds.")
            .Validate<IOptions<LimitsOptions>>(
                (o, l) => o.ListenerVisibilityTimeoutSeconds <= l.Value.MaxVisibilityTimeoutSeconds,
                "UserApp:ListenerVisibilityTimeoutSeconds must be at most Limits:MaxVisibilityTimeoutSeconds.")
            .ValidateOnStart();

        services.AddOpenApi();

        services.AddValidatorsFromAssemblyContaining<DispatchRequestValidator>(ServiceLifetime.Singleton);

        services.AddBrokerClient();
        services.AddScoped<Dispatcher>();
        // Processed messages go to stdout as plain lines; tests swap in their own writer.
        services.TryAddSingleton(new MessageOutput(Console.Out));
        services.AddSingleton<ListenerRegistry>();
        services.AddHostedService(sp => sp.GetRequiredService<ListenerRegistry>());

        var app = builder.Build();

        app.UseWonderQProblems();
        app.UseWonderQRequestChecks();

        app.MapOpenApi();
        app.MapDispatch();
        app.MapListen();
        return app;
    }
}
