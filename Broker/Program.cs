using FluentValidation;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using WonderQ.Broker.Auth;
using WonderQ.Broker.Health;
using WonderQ.Broker.Infrastructure;
using WonderQ.Broker.Messages;
using WonderQ.Broker.Queues;
using WonderQ.Broker.Storage;
using WonderQ.Shared.Json;
using WonderQ.Shared.Validation;

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

        services.AddSingleton(TimeProvider.System);
        services.AddOptions<LimitsOptions>().BindConfiguration(LimitsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<LimitsOptions>>(
            (kestrel, limits) => kestrel.Limits.MaxRequestBodySize = limits.Value.MaxRequestBodyBytes);

        services.AddOptions<ApiKeyOptions>().BindConfiguration(ApiKeyOptions.Section);
        services.ConfigureHttpJsonOptions(options => WonderQJson.Configure(options.SerializerOptions));
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        services.AddProblemDetails(options => options.CustomizeProblemDetails = StatusDetails.Fill);
        services.AddSingleton<IProblemDetailsWriter, ProblemJsonFallbackWriter>();
        services.AddExceptionHandler<ProblemExceptionHandler>();
        services.AddOpenApi();

        ValidationConventions.UseWireNames();
        services.AddValidatorsFromAssemblyContaining<CreateQueueRequestValidator>(ServiceLifetime.Singleton);

        services.AddMessageStore();
        services.AddSingleton<WaitingConsumers>();
        services.AddSingleton<LongPoll>();

        var app = builder.Build();

        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseApiKeys();
        app.UseRequestBodyLimit();
        app.UseKnownRequestCharset();

        app.MapOpenApi();
        app.MapHealth();
        app.MapQueues();
        app.MapMessages();
        return app;
    }
}
