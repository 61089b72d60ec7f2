using FluentValidation;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using WonderQ.DevTool.Dashboard;
using WonderQ.DevTool.Infrastructure;
using WonderQ.DevTool.Messages;
using WonderQ.DevTool.Queues;
using WonderQ.Shared.Client;
using WonderQ.Shared.Json;
using WonderQ.Shared.Validation;

namespace WonderQ.DevTool;

public class Program
{
    public static int Main(string[] args)
    {
        try
        {
            CreateApp(args).Run();
            return 0;
        }
        catch (OptionsValidationException ex)
        {
            // A refusal to start is the operator's to fix: say what and how, without a stack trace.
            Console.Error.WriteLine($"WonderQ DevTool did not start: {ex.Message}");
            return 1;
        }
    }

    public static WebApplication CreateApp(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        var services = builder.Services;

        services.AddSingleton(TimeProvider.System);
        services.AddOptions<LimitsOptions>().BindConfiguration(LimitsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<LimitsOptions>>(
            (kestrel, limits) => kestrel.Limits.MaxRequestBodySize = limits.Value.MaxRequestBodyBytes);

        services.ConfigureHttpJsonOptions(options => WonderQJson.Configure(options.SerializerOptions));
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        services.AddProblemDetails(options => options.CustomizeProblemDetails = StatusDetails.Fill);
        services.AddExceptionHandler<ProblemExceptionHandler>();

        ValidationConventions.UseWireNames();
        services.AddValidatorsFromAssemblyContaining<CreateQueueRequestValidator>(ServiceLifetime.Singleton);
        services.AddValidatorsFromAssemblyContaining<PeekQueryValidator>(ServiceLifetime.Singleton);

        services.AddSingleton<BrokerReachability>();
        services.AddTransient<BrokerReachabilityLog>();
        services.AddBrokerClient().AddHttpMessageHandler<BrokerReachabilityLog>();

        var app = builder.Build();

        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseSecurityHeaders();

        app.UseDashboard();
        app.MapQueues();
        app.MapMessages();
        return app;
    }
}
