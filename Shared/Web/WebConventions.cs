using FluentValidation;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using WonderQ.Shared.Json;
using WonderQ.Shared.Validation;

namespace WonderQ.Shared.Web;

/// <summary>What every WonderQ app does alike: JSON on the wire, the input limits, and problem+json for every error.</summary>
public static class WebConventions
{
    public static IServiceCollection AddWonderQConventions(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<LimitsOptions>().BindConfiguration(LimitsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<OutageOptions>().BindConfiguration(OutageOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<LimitsOptions>>(
            (kestrel, limits) => kestrel.Limits.MaxRequestBodySize = limits.Value.MaxRequestBodyBytes);

        services.ConfigureHttpJsonOptions(options => WonderQJson.Configure(options.SerializerOptions));
        // Unreadable input throws, so the exception handler can say what was wrong instead of a bare 400.
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        services.AddProblemDetails(options => options.CustomizeProblemDetails = StatusDetails.Fill);
        services.AddSingleton<IProblemDetailsWriter, ProblemJsonFallbackWriter>();
        services.AddExceptionHandler<ProblemExceptionHandler>();

        ValidationConventions.UseWireNames();
        services.AddValidatorsFromAssemblyContaining<CreateQueueRequestValidator>(ServiceLifetime.Singleton);
        return services;
    }

    /// <summary>
    /// Runs an app; a refusal to start (a setting that is invalid, does not convert to its type or is not a URL, or one
    /// <paramref name="isRefusal"/> names) is the operator's to fix, so it is said in one line on stderr with exit code
    /// 1, not as a stack trace.
    /// </summary>
    public static int Run(string appName, Func<WebApplication> createApp, Func<Exception, bool>? isRefusal = null)
    {
        try
        {
            var app = createApp();
            WarnIfUnconfigured(app);
            // The host checks these only as it starts, and logs what fails there with its stack trace before it throws.
            app.Services.GetService<IStartupValidator>()?.Validate();
            ParseUrls(app);
            app.Run();
            return 0;
        }
        catch (Exception ex) when (IsRefusal(ex) || isRefusal?.Invoke(ex) == true)
        {
            Console.Error.WriteLine($"WonderQ {appName} did not start: {ReasonFor(ex)}");
            return 1;
        }
    }

    /// <summary>
    /// A bad setting, known by who threw (or, for the binder, by its message too, should it ever be generated code): the
    /// options' validation; the binder failing to convert a value (it wraps the type converter's complaint, and its
    /// message names the key and the value; its other errors are the code's); Kestrel's parser of listening addresses.
    /// Options validated on start fail together, as one aggregate.
    /// </summary>
    private static bool IsRefusal(Exception ex) => ex switch
    {
        OptionsValidationException => true,
        InvalidOperationException { InnerException: FormatException or ArgumentException } =>
            ThrownBy(ex, typeof(ConfigurationBinder)) || ex.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal),
        FormatException => ThrownBy(ex, typeof(BindingAddress)),
        DirectoryNotFoundException => ThrownBy(ex, typeof(PhysicalFileProvider)),
        AggregateException all => all.InnerExceptions.All(IsRefusal),
        _ => false,
    };

    /// <summary>
    /// The host resolves a relative <c>--contentRoot</c> against the app's own folder, not the working directory, and
    /// names only the folder it did not find.
    /// </summary>
    private static string ReasonFor(Exception ex) => ex switch
    {
        AggregateException all => string.Join(" ", all.InnerExceptions.Select(ReasonFor)),
        DirectoryNotFoundException => $"its content root {ex.Message} does not exist. Give the folder that holds its " +
            "appsettings.json as an absolute path: a relative --contentRoot is taken from the folder of the app's dll, not the working directory.",
        _ => ex.Message,
    };

    private static bool ThrownBy(Exception ex, Type type) => ex.TargetSite?.DeclaringType == type;

    /// <summary>
    /// Parses the addresses to listen on as Kestrel will, so that one which is not a URL is refused before the host
    /// starts and logs the failure with its stack trace.
    /// </summary>
    private static void ParseUrls(WebApplication app)
    {
        var urls = app.Configuration[WebHostDefaults.ServerUrlsKey] ?? "";
        foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            BindingAddress.Parse(url);
        }
    }

    /// <summary>
    /// An app's dll started from another folder without <c>--contentRoot</c> finds no appsettings.json and runs on the
    /// framework's bare defaults (port 5000, every request logged): said at start, since nothing else would show why.
    /// </summary>
    private static void WarnIfUnconfigured(WebApplication app)
    {
        if (!app.Environment.ContentRootFileProvider.GetFileInfo("appsettings.json").Exists)
        {
            app.Logger.LogWarning(
                "No appsettings.json in the content root {ContentRoot}: running on the built-in defaults. Start the app from its own folder or pass --contentRoot with that folder.",
                app.Environment.ContentRootPath);
        }
    }

    /// <summary>
    /// Problem+json for exceptions and for the bare status answers (no route, wrong method). An endpoint marked
    /// <c>SkipStatusCodePagesAttribute</c> always writes its own body, and bypasses the status-code middleware
    /// altogether rather than passing through it: that middleware awaits every request it sees, so a long poll would
    /// hold its frame for the whole wait (routing runs first so that the endpoint is known).
    /// </summary>
    public static IApplicationBuilder UseWonderQProblems(this IApplicationBuilder app) =>
        app.UseExceptionHandler()
            .UseRouting()
            .UseWhen(
                static context => context.GetEndpoint()?.Metadata.GetMetadata<ISkipStatusCodePagesMetadata>() is null,
                static branch => branch.UseStatusCodePages());

    /// <summary>
    /// Refuses oversized bodies, bodies in another charset than UTF-8 or compressed, and parameters given twice, before
    /// anything reads them.
    /// </summary>
    public static IApplicationBuilder UseWonderQRequestChecks(this IApplicationBuilder app) =>
        app.UseRequestBodyLimit().UseKnownRequestContent().UseSingleQueryValues();
}
