using FluentValidation;
using WonderQ.DevTool.Dashboard;
using WonderQ.DevTool.Infrastructure;
using WonderQ.DevTool.Messages;
using WonderQ.DevTool.Queues;
using WonderQ.Shared.Client;
using WonderQ.Shared.Validation;
using WonderQ.Shared.Web;

namespace WonderQ.DevTool;

public class Program
{
    public static int Main(string[] args) => WebConventions.Run("DevTool", () => CreateApp(args));

    public static WebApplication CreateApp(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args).ReadSettingsShippedWith(typeof(Program));
        var services = builder.Services;

        // The DevTool peeks but never consumes, so it reads none of a consume's limits.
        services.AddWonderQConventions(
            nameof(LimitsOptions.DefaultConsumeSize),
            nameof(LimitsOptions.DefaultWaitTimeSeconds),
            nameof(LimitsOptions.DefaultVisibilityTimeoutSeconds),
            nameof(LimitsOptions.MaxWaitTimeSeconds),
            nameof(LimitsOptions.MaxVisibilityTimeoutSeconds),
            nameof(LimitsOptions.MaxWaitingConsumers),
            nameof(LimitsOptions.MaxQueues),
            nameof(LimitsOptions.MaxBatchBytes));
        services.AddOptions<LimitsOptions>().ValidatePeekDefault();
        services.AddSingleton<IProblemMapper, BrokerProblemMapper>();

        services.AddValidatorsFromAssemblyContaining<PeekQueryValidator>(ServiceLifetime.Singleton);

        services.AddOptions<DashboardOptions>().BindSettings(DashboardOptions.Section);
        services.AddSingleton<PeekGate>();
        services.AddSingleton<BrokerReachability>();
        services.AddSingleton<IFailureLog>(sp => sp.GetRequiredService<BrokerReachability>());
        services.AddTransient<BrokerReachabilityLog>();
        // The page's patience, in code as in appsettings.json, so that a DevTool started without that file still learns
        // quickly that the broker is down; registered before the client binds its section, which overrides them.
        services.Configure<BrokerClientOptions>(client =>
        {
            client.AttemptTimeout = TimeSpan.FromSeconds(3);
            client.TotalTimeout = TimeSpan.FromSeconds(6);
            client.MaxRetries = 1;
        });
        services.AddBrokerClient(client => client.AddHttpMessageHandler<BrokerReachabilityLog>());
        services.AddOpenApi(options => options.AddWonderQConventions());

        var app = builder.Build().ValidateSettings();

        // First, so that every answer carries them: a request refused before it reaches an endpoint (a Host not
        // answered, a method or parameter not taken, a body too large) as much as the page.
        app.UseSecurityHeaders();
        app.UseWonderQProblems();
        app.RefuseBrokerClients("DevTool");
        app.UseWonderQRequestChecks();
        app.UseStoppingRequests("DevTool");

        app.UseDashboard();
        app.MapDashboardSettings();
        app.MapQueues();
        app.MapMessages();
        app.MapOpenApi("/openapi/v1.json");
        return app;
    }
}
