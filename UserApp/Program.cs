using FluentValidation;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using WonderQ.Shared.Client;
using WonderQ.Shared.Json;
using WonderQ.Shared.Validation;
using WonderQ.UserApp.Dispatch;
using WonderQ.UserApp.Infrastructure;
using WonderQ.UserApp.Listen;

namespace WonderQ.UserApp;

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
            Console.Error.WriteLine($"WonderQ UserApp did not start: {ex.Message}");
            return 1;
        }
    }

    public static WebApplication CreateApp(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        var services = builder.Services;

        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<UserAppOptions>().BindConfiguration(UserAppOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<LimitsOptions>().BindConfiguration(LimitsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<LimitsOptions>>(
            (kestrel, limits) => kestrel.Limits.MaxRequestBodySize = limits.Value.MaxRequestBodyBytes);

        services.ConfigureHttpJsonOptions(options => WonderQJson.Configure(options.SerializerOptions));
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        services.AddProblemDetails(options => options.CustomizeProblemDetails = StatusDetails.Fill);
        services.AddExceptionHandler<ProblemExceptionHandler>();
        services.AddOpenApi();

        ValidationConventions.UseWireNames();
        services.AddValidatorsFromAssemblyContaining<CreateQueueRequestValidator>(ServiceLifetime.Singleton);
        services.AddValidatorsFromAssemblyContaining<DispatchRequestValidator>(ServiceLifetime.Singleton);

        services.AddBrokerClient();
        services.AddScoped<Dispatcher>();
        // Processed messages go to stdout as plain lines; tests swap in their own writer.
        services.TryAddSingleton(new MessageOutput(Console.Out));
        services.AddSingleton<ListenerRegistry>();
        services.AddHostedService(sp => sp.GetRequiredService<ListenerRegistry>());

        var app = builder.Build();

        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseRequestBodyLimit();

        app.MapOpenApi();
        app.MapDispatch();
        app.MapListen();
        return app;
    }
}
