using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json.Serialization;
using FluentValidation;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using WonderQ.Shared.Json;
using WonderQ.Shared.Validation;

namespace WonderQ.Shared.Web;

/// <summary>What every WonderQ app does alike: JSON on the wire, the input limits, and problem+json for every error.</summary>
public static class WebConventions
{
    /// <param name="unreadLimits">The <see cref="LimitsOptions"/> the app never reads, which it does not check.</param>
    public static IServiceCollection AddWonderQConventions(this IServiceCollection services, params string[] unreadLimits)
    {
        services.TryAddSingleton(TimeProvider.System);
        QuietHostOnRefusals(services);
        LogLevels.CheckBeforeTheyAreRead(services);
        services.AddOptions<LimitsOptions>().BindSettings(LimitsOptions.Section, unreadLimits);
        services.AddOptions<OutageOptions>().BindSettings(OutageOptions.Section);
        services.AddOptions<KestrelServerOptions>()
            .Configure<IConfiguration>((kestrel, configuration) => KestrelLimits.Bind(kestrel.Limits, configuration))
            // "Server: Kestrel" on every answer, a refusal of a caller without a key or a Host included, tells anyone
            // who can reach the port which server to look up weaknesses of; no client needs it.
            .Configure(kestrel => kestrel.AddServerHeader = false)
            .Configure<IOptions<LimitsOptions>>(LimitRequestBodies)
            .ValidateOnStart();

        services.HandOverHostFiltering();
        services.ConfigureHttpJsonOptions(options =>
        {
            WonderQJson.Configure(options.SerializerOptions);
            // A request body's field the endpoint does not take is refused, not ignored: a misspelt one would
            // silently take its default. Only what the apps read is strict; the typed client reads the broker's
            // answers with WonderQJson.Options, so a field a newer broker adds does not break it.
            options.SerializerOptions.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        });
        services.TryAddSingleton<EndpointParameterCatalog>();
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
    /// Kestrel's server is made as the app is built, before the options are validated: invalid limits, and ones that do
    /// not convert to their type, are left for that validation to say, with every other invalid setting, and it stops
    /// the app before it serves a request. Said from here, a value such as <c>Limits:MaxBatchSize=abc</c> would be
    /// blamed on where Kestrel listens.
    /// </summary>
    private static void LimitRequestBodies(KestrelServerOptions kestrel, IOptions<LimitsOptions> limits)
    {
        try
        {
            kestrel.Limits.MaxRequestBodySize = limits.Value.MaxRequestBodyBytes;
        }
        catch (Exception ex) when (ex is OptionsValidationException or InvalidOperationException)
        {
        }
    }

    /// <summary>
    /// Checks the options validated on start as soon as the app is built: its middleware and endpoints read some of
    /// them as they are set up, and the first one invalid would stop the app there alone, not said with every other
    /// setting that is wrong. The host checks them again only as it starts, and would log what fails there with its
    /// stack trace before it throws.
    /// </summary>
    public static WebApplication ValidateSettings(this WebApplication app)
    {
        if (Settings.UnknownCommandLineSections(app.Configuration) is [_, ..] unknown)
        {
            var sections = app.Services.GetServices<SettingsSection>().Select(s => s.Name).Distinct();
            throw new StartRefusedException(
                $"{string.Join(", ", unknown.Select(key => $"'{key}'"))} on the command line {(unknown.Count == 1 ? "names" : "name")} no section of "
                + $"this app's settings ({string.Join(", ", sections)}, and the host's Urls, Logging, Kestrel, AllowedHosts): check the spelling against appsettings.json.");
        }

        RefuseUnreadShutdownTimeout(app.Configuration);
        app.Services.GetService<IStartupValidator>()?.Validate();
        return app;
    }

    /// <summary>
    /// The host reads <c>shutdownTimeoutSeconds</c> as digits alone and keeps its 30 s for anything else (<c>abc</c>,
    /// <c>-5</c>, <c>1e3</c>) without a word, so a stop grace checked against it would then be blamed for a value the
    /// operator never gave. Checked first, as the host reads it, so the value itself is what is named.
    /// </summary>
    private static void RefuseUnreadShutdownTimeout(IConfiguration configuration)
    {
        const string ShutdownTimeoutKey = "shutdownTimeoutSeconds";
        if (configuration[ShutdownTimeoutKey] is { } value
            && !int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            throw new StartRefusedException(
                $"{ShutdownTimeoutKey} is '{value}', which is not a whole number of seconds: give one from 0 to {int.MaxValue}, such as 30.");
        }
    }

    /// <summary>
    /// Runs an app; a refusal to start (a setting that is invalid, does not convert to its type or is not a URL, a port
    /// another process holds, an https address or endpoint without a certificate or with one that cannot be loaded, or a
    /// <see cref="StartRefusedException"/>) is the operator's to fix, so it is said in one line on stderr with exit code
    /// 1, not as a stack trace. Once the app has started, the same exceptions are failures like any other.
    /// </summary>
    public static int Run(string appName, Func<WebApplication> createApp)
    {
        // Known once the app is built; a refusal before that is never about where it listens.
        var listening = ListenSetting.Unknown;
        var started = false;
        var stopping = false;
        try
        {
            var app = createApp();
            WarnIfUnconfigured(app);
            WarnIfListeningVariablesIgnored(app);
            listening = ListenSetting.Of(app.Configuration);
            RefuseNoAddress(app.Configuration, listening);
            ParseUrls(listening);
            app.Lifetime.ApplicationStarted.Register(() =>
            {
                started = true;
                AllowedHostNames.WarnIfReachableButAnsweringLocalNamesOnly(app);
            });
            app.Lifetime.ApplicationStopping.Register(() => stopping = true);

            // A closed terminal or a dropped SSH session sends SIGHUP, which the host leaves to the runtime's default of
            // ending the process at once: stopped as for Ctrl-C instead, so that waiting consumers are answered and
            // the user app's listeners delete what they logged.
            using var hangup = OperatingSystem.IsWindows() ? null : PosixSignalRegistration.Create(PosixSignal.SIGHUP, signal =>
            {
                signal.Cancel = true;
                app.Lifetime.StopApplication();
            });
            app.Run();
            return 0;
        }
        catch (OperationCanceledException) when (!started && stopping)
        {
            // Ctrl-C or SIGTERM while it was still starting (as run.sh stops the others when one app refuses): the host
            // cancels its start and throws, which is a stop as asked, not a failure to show with its stack trace.
            return 0;
        }
        catch (Exception ex) when (!started && IsRefusal(ex))
        {
            Console.Error.WriteLine($"WonderQ {appName} did not start: {string.Join(" ", ReasonsFor(ex, listening).Distinct())}");
            return 1;
        }
    }

    /// <summary>
    /// A bad setting, known by who threw (or, for the binder, by its message too, should it ever be generated code): the
    /// options' validation; the binder failing to convert a value (it wraps the type converter's complaint, and its
    /// message names the key and the value; its other errors are the code's; a TimeSpan's converter lets a value past its
    /// range, such as 99999999999 read as days, through as an OverflowException); Kestrel's parser of listening addresses;
    /// Kestrel finding its port taken, or no certificate for an https address (in <c>Urls</c>) or endpoint (in
    /// <c>Kestrel:Endpoints</c>). Options validated on start fail together, as one aggregate.
    /// </summary>
    private static bool IsRefusal(Exception ex) => ex switch
    {
        _ when LoadingCertificate(ex) => true,
        StartRefusedException => true,
        OptionsValidationException => true,
        InvalidOperationException { InnerException: FormatException or ArgumentException or OverflowException } =>
            ThrownBy(ex, typeof(ConfigurationBinder)) || ex.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal),
        FormatException => ThrownBy(ex, typeof(BindingAddress)),
        DirectoryNotFoundException => ThrownBy(ex, typeof(PhysicalFileProvider)),
        IOException { InnerException: AddressInUseException } => true,
        InvalidOperationException =>
            ThrownBy(ex, typeof(ListenOptionsHttpsExtensions)) || ThrownBy(ex, _tlsConfigurationLoader) || ThrownBy(ex, _logLevelReader)
            || OnTheWay(ex, _kestrelServer),
        AggregateException all => all.InnerExceptions.All(IsRefusal),
        _ => false,
    };

    /// <summary>
    /// Each thing to fix, as a sentence. Options validated on start fail together, each options class with its own
    /// list of failures, which are said as they are written (the message of <see cref="OptionsValidationException"/>
    /// runs them together with "; " after their own full stops). A failure found twice (a check that reads another
    /// options class meets that class's own failure) is said once, by <see cref="Run"/>.
    /// </summary>
    private static IEnumerable<string> ReasonsFor(Exception ex, ListenSetting listening) => ex switch
    {
        AggregateException all => all.InnerExceptions.SelectMany(inner => ReasonsFor(inner, listening)),
        OptionsValidationException invalid => invalid.Failures.Select(Sentence),
        _ => [ReasonFor(ex, listening)],
    };

    private static string Sentence(string failure)
    {
        failure = failure.Trim();
        return failure.EndsWith('.') || failure.EndsWith('?') || failure.EndsWith('!') ? failure : failure + ".";
    }

    /// <summary>
    /// The host resolves a relative <c>--contentRoot</c> against the app's own folder, not the working directory, and
    /// names only the folder it did not find.
    /// </summary>
    private static string ReasonFor(Exception ex, ListenSetting listening) => ex switch
    {
        _ when LoadingCertificate(ex) => $"a server certificate under Kestrel:Certificates or Kestrel:Endpoints cannot be loaded " +
            $"({ex.Message.TrimEnd('.')}): check its Path and any KeyPath or Password, or for one from a certificate store its Subject and Store.",
        DirectoryNotFoundException => $"its content root {ex.Message} does not exist. Give the folder that holds its " +
            "appsettings.json as an absolute path: a relative --contentRoot is taken from the folder of the app's dll, not the working directory.",
        // Only the host's start binds, and Run knows by then where the addresses come from.
        IOException { InnerException: AddressInUseException } => InUse(ex, listening),
        InvalidOperationException when ThrownBy(ex, typeof(ListenOptionsHttpsExtensions)) => NoCertificate(listening),
        InvalidOperationException when ThrownBy(ex, _tlsConfigurationLoader) => NoEndpointCertificate(listening),
        // Should the levels be read before LogLevels checks them (which names the key): this names the value alone.
        InvalidOperationException when ThrownBy(ex, _logLevelReader) =>
            $"a log level under Logging is not one ({ex.Message.TrimEnd('.')}): use Trace, Debug, Information, Warning, Error, Critical or None.",
        InvalidOperationException when OnTheWay(ex, _kestrelServer) => $"Kestrel refused where or how to listen ({listening.Key}): {Sentence(ex.Message)}",
        _ => ex.Message,
    };

    /// <summary>Kestrel names the endpoint it could not bind, not the setting it came from.</summary>
    private static string InUse(Exception ex, ListenSetting listening) => listening.Addresses is [var address]
        ? $"{address} is already in use by another process ({listening.Key}): stop it or choose another port."
        : $"an address in {listening.Key} is already in use by another process ({ex.Message.TrimEnd('.')}): stop it or choose another port.";

    /// <summary>Kestrel's own words suggest a development certificate, which is no answer for a deployed app.</summary>
    private static string NoCertificate(ListenSetting listening)
    {
        var https = listening.Addresses.Where(a => a.StartsWith("https:", StringComparison.OrdinalIgnoreCase)).ToList();
        var which = https.Count > 0 ? string.Join(", ", https) : "an https address";
        return $"{which} ({listening.Key}) needs a server certificate: give one under Kestrel:Certificates:Default " +
            "(its Path, and its Password if it has one), or listen on http.";
    }

    /// <summary>
    /// Kestrel says an endpoint has no certificate only in a sentence (one that does not name the endpoint), in a plain
    /// InvalidOperationException with no HResult of its own: what tells it apart is its thrower, the internal class
    /// that sets up TLS for <c>Kestrel:Endpoints</c>, which throws nothing else itself. Found by name, as the host's
    /// logger is; should it ever be renamed, the failure is shown with its stack trace, as any other is.
    /// </summary>
    private static readonly Type? _tlsConfigurationLoader =
        typeof(KestrelServerOptions).Assembly.GetType("Microsoft.AspNetCore.Server.Kestrel.Core.TlsConfigurationLoader");

    /// <summary>
    /// A <c>Logging:LogLevel</c> value that is no level (Serilog's "Verbose", say) fails the logger factory as the app
    /// is built, in a plain InvalidOperationException thrown by this internal class, which reads the levels. Found by
    /// name, as the one above.
    /// </summary>
    private static readonly Type? _logLevelReader =
        typeof(Microsoft.Extensions.Logging.Configuration.ILoggerProviderConfigurationFactory).Assembly.GetType("Microsoft.Extensions.Logging.LoggerFilterConfigureOptions");

    /// <summary>
    /// The endpoint is not in the exception: it is the https endpoint that has no certificate of its own (nor SNI
    /// certificates) while no default one was found.
    /// </summary>
    private static string NoEndpointCertificate(ListenSetting listening)
    {
        var endpoints = listening.Endpoints
            .Where(e => e["Url"]?.StartsWith("https:", StringComparison.OrdinalIgnoreCase) == true &&
                !e.GetSection("Certificate").Exists() && !e.GetSection("Sni").Exists())
            .ToList();
        var which = endpoints.Count > 0
            ? string.Join(", ", endpoints.Select(e => $"{e["Url"]} ({e.Path}:Url)"))
            : $"an https endpoint ({ListenSetting.EndpointsKey})";
        var where = string.Concat(endpoints.Select(e => $"{e.Path}:Certificate or "));
        return $"{which} {(endpoints.Count > 1 ? "need" : "needs")} a server certificate: give one under {where}Kestrel:Certificates:Default " +
            "(its Path, and its Password if it has one), or listen on http.";
    }

    /// <summary>
    /// A certificate that cannot be loaded (no such file, a wrong password) fails Kestrel's start with whatever reading
    /// it threw, from file or crypto code: what tells it apart is this internal class on its way, which loads every
    /// certificate of <c>Kestrel:Certificates</c> and <c>Kestrel:Endpoints</c>. Found by name, as the ones above.
    /// </summary>
    private static readonly Type? _certificateLoader =
        typeof(KestrelServerOptions).Assembly.GetType("Microsoft.AspNetCore.Server.Kestrel.Core.Internal.Certificates.CertificateConfigLoader");

    private static bool LoadingCertificate(Exception ex) => OnTheWay(ex, _certificateLoader);

    /// <summary>
    /// Kestrel checks the rest of its endpoints' settings only as it starts (HTTP/3 on an endpoint without TLS, TLS
    /// settings on one without it), in plain InvalidOperationExceptions whose messages say what is wrong: thrown on
    /// the way through this internal class before the app has started, they are settings to fix. Found by name, as the
    /// ones above.
    /// </summary>
    private static readonly Type? _kestrelServer =
        typeof(KestrelServerOptions).Assembly.GetType("Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerImpl");

    /// <summary>Whether a method of <paramref name="type"/>, or of a state machine or closure inside it, was on the stack.</summary>
    private static bool OnTheWay(Exception ex, Type? type) =>
        type is not null && new StackTrace(ex).GetFrames().Any(frame => Within(frame.GetMethod()?.DeclaringType, type));

    private static bool Within(Type? declaring, Type type) =>
        declaring is not null && (declaring == type || Within(declaring.DeclaringType, type));

    private static bool ThrownBy(Exception ex, Type? type) => type is not null && ex.TargetSite?.DeclaringType == type;

    /// <summary>
    /// A <c>Urls</c> set to nothing (a variable left unset: <c>--urls=$URLS</c>), without Kestrel's endpoints or the
    /// ports ASP.NET Core takes instead (<c>HTTP_PORTS</c>), would have Kestrel listen on its own default,
    /// http://localhost:5000, rather than on an address the operator chose. Unset altogether, it is the app's own
    /// appsettings.json that is missing, which <see cref="WarnIfUnconfigured"/> says.
    /// </summary>
    private static void RefuseNoAddress(IConfiguration configuration, ListenSetting listening)
    {
        if (listening.Key == ListenSetting.UrlsKey && listening.Addresses.Count == 0 && configuration[WebHostDefaults.ServerUrlsKey] is not null
            && string.IsNullOrEmpty(configuration[WebHostDefaults.HttpPortsKey]) && string.IsNullOrEmpty(configuration[WebHostDefaults.HttpsPortsKey]))
        {
            throw new StartRefusedException(
                "Urls names no address to listen on: give one or more, ';'-separated, such as http://127.0.0.1:3213, or endpoints under Kestrel:Endpoints.");
        }
    }

    /// <summary>
    /// Parses the addresses to listen on as Kestrel will, so that one which is not a URL, or whose port no socket can
    /// have, is refused before the host starts and logs the failure with its stack trace.
    /// </summary>
    private static void ParseUrls(ListenSetting listening)
    {
        // Kestrel would bind the second of two equal addresses after the first, and report it in use by another process.
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var url in listening.Addresses)
        {
            BindingAddress address;
            try
            {
                address = BindingAddress.Parse(url);
            }
            catch (FormatException ex)
            {
                throw new StartRefusedException($"{url} is not an address to listen on ({listening.Key}): give one such as http://127.0.0.1:3213.", ex);
            }

            if (address.Port is < IPEndPoint.MinPort or > IPEndPoint.MaxPort)
            {
                throw new StartRefusedException(
                    $"the port of {url} is out of range ({listening.Key}): give one from 1 to {IPEndPoint.MaxPort}, or 0 for one the system picks.");
            }

            if (address.Port != 0 && !seen.Add($"{address.Scheme}://{address.Host}:{address.Port}"))
            {
                throw new StartRefusedException($"{url} is given twice ({listening.Key}): give each address once.");
            }
        }
    }

    /// <summary>
    /// Where the addresses to listen on come from: Kestrel's own endpoints when there are any (they override
    /// <c>Urls</c>), else <c>Urls</c>.
    /// </summary>
    private sealed record ListenSetting(string Key, IReadOnlyList<string> Addresses, IReadOnlyList<IConfigurationSection> Endpoints)
    {
        public const string UrlsKey = "Urls";

        public const string EndpointsKey = "Kestrel:Endpoints";

        public static readonly ListenSetting Unknown = new(UrlsKey, [], []);

        public static ListenSetting Of(IConfiguration configuration)
        {
            var endpoints = configuration.GetSection(EndpointsKey).GetChildren().ToList();
            return endpoints.Count > 0
                ? new(EndpointsKey, [.. endpoints.Select(e => e["Url"]).OfType<string>()], endpoints)
                : new(UrlsKey, (configuration[WebHostDefaults.ServerUrlsKey] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries), []);
        }
    }

    /// <summary>
    /// The host logs a hosted service that fails to start with its stack trace, then throws to <see cref="Run"/>. A
    /// port already taken shows only when the server binds, and a database file the broker cannot use only when its
    /// store opens: the host's log of such a refusal is dropped here, so that Run's one line is all the operator reads.
    /// So is its log of a start cancelled by a stop (run.sh stopping the others when one app refuses), which is no
    /// failure. Any other failure is logged as the host logs it. The host's logger is resolved from the container by the
    /// host's (internal) type; should that type ever be renamed, a refusal is merely logged as well.
    /// </summary>
    private static void QuietHostOnRefusals(IServiceCollection services)
    {
        if (typeof(HostBuilder).Assembly.GetType("Microsoft.Extensions.Hosting.Internal.Host") is { } host)
        {
            services.AddSingleton(typeof(ILogger<>).MakeGenericType(host), typeof(RefusalQuietLogger<>).MakeGenericType(host));
        }
    }

    private sealed class RefusalQuietLogger<T>(ILoggerFactory factory, IHostApplicationLifetime lifetime) : ILogger<T>
    {
        private readonly ILogger _logger = factory.CreateLogger<T>();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => _logger.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => _logger.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (exception is null || lifetime.ApplicationStarted.IsCancellationRequested
                || !(IsRefusal(exception) || (exception is OperationCanceledException && lifetime.ApplicationStopping.IsCancellationRequested)))
            {
                _logger.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }

    /// <summary>
    /// An app's dll started from another folder without <c>--contentRoot</c> reads the appsettings.json shipped beside it
    /// (<see cref="ShippedSettings"/>), and says so, as relative paths still resolve from the working directory. With
    /// none there either it runs on the framework's bare defaults (port 5000, every <c>Host</c> answered, every request
    /// logged): said at start, since nothing else would show why.
    /// </summary>
    private static void WarnIfUnconfigured(WebApplication app)
    {
        if (app.Environment.ContentRootFileProvider.GetFileInfo("appsettings.json").Exists)
        {
            WarnIfFrameworkDefaultsLeftUnset(app);
            return;
        }

        if (ShippedSettings.StandsIn(app.Environment) is { } shipped)
        {
            app.Logger.LogInformation(
                "No appsettings.json in the content root {ContentRoot}: read the one beside the app, {Shipped}. Relative paths (the database's) resolve against the content root.",
                app.Environment.ContentRootPath,
                shipped);
            return;
        }

        app.Logger.LogWarning(
            "No appsettings.json in the content root {ContentRoot}, nor beside the app: running on the framework's defaults (port 5000, every Host answered). Start the app from its own folder or pass --contentRoot with that folder.",
            app.Environment.ContentRootPath);
    }

    /// <summary>
    /// The framework's settings that the shipped appsettings.json gives and the apps' own options have no default for: an
    /// appsettings.json of the operator's own in the content root takes the shipped one's place as a whole, so one that
    /// gives only what it changes leaves these at the framework's defaults without a word: every <c>Host</c> answered
    /// (no DNS-rebinding guard), port 5000, every request logged, no cap on connections.
    /// </summary>
    private static readonly string[] _frameworkKeysShipped = [AllowedHostNames.Key, WebHostDefaults.ServerUrlsKey, "Logging:LogLevel", "Kestrel:Limits"];

    private static void WarnIfFrameworkDefaultsLeftUnset(WebApplication app)
    {
        var unset = _frameworkKeysShipped
            .Where(key => !app.Configuration.GetSection(key).Exists())
            // Kestrel:Endpoints says where to listen in place of Urls.
            .Where(key => key != WebHostDefaults.ServerUrlsKey || !app.Configuration.GetSection("Kestrel:Endpoints").Exists())
            .ToList();
        if (unset.Count > 0)
        {
            app.Logger.LogWarning(
                "The appsettings.json in {ContentRoot} sets no {Keys}, nor do the environment or the command line: they take the framework's defaults, not WonderQ's (AllowedHosts unset answers every Host name, so a DNS-rebinding page can reach the app; no Urls listens on http://localhost:5000; no Logging:LogLevel logs every request; no Kestrel:Limits caps no connections). That file replaces the one shipped beside the app rather than adding to it: start from a copy of the shipped appsettings.json and change only what you need.",
                app.Environment.ContentRootPath,
                string.Join(", ", unset));
        }
    }

    /// <summary>
    /// ASP.NET Core reads ASPNETCORE_URLS (and HTTP_PORTS, which Microsoft's container images set to 8080) before
    /// appsettings.json, whose <c>Urls</c> then wins: an app told by them where to listen would listen on localhost at
    /// its default port without a word, out of reach of the container's port mapping.
    /// </summary>
    private static void WarnIfListeningVariablesIgnored(WebApplication app)
    {
        var urls = app.Configuration[WebHostDefaults.ServerUrlsKey];
        if (string.IsNullOrEmpty(urls))
        {
            return;
        }

        foreach (var name in (string[])["ASPNETCORE_URLS", "DOTNET_URLS", "ASPNETCORE_HTTP_PORTS", "DOTNET_HTTP_PORTS", "ASPNETCORE_HTTPS_PORTS", "DOTNET_HTTPS_PORTS"])
        {
            if (Environment.GetEnvironmentVariable(name) is { Length: > 0 } value && value != urls)
            {
                app.Logger.LogWarning(
                    "{Variable}={Value} is not used: Urls ({Urls}, from appsettings.json unless set otherwise) comes first. To listen elsewhere, set Urls instead (the environment variable Urls, or --urls).",
                    name, value, urls);
            }
        }
    }

    /// <summary>
    /// Problem+json for exceptions and for the bare status answers (no route, wrong method), and a HEAD answered as its
    /// GET without the body (<see cref="HeadRequests"/>). An endpoint marked <c>SkipStatusCodePagesAttribute</c> always
    /// writes its own body, and bypasses the status-code middleware altogether rather than passing through it: that
    /// middleware awaits every request it sees, so a long poll would hold its frame for the whole wait (routing runs
    /// first so that the endpoint is known).
    /// </summary>
    public static IApplicationBuilder UseWonderQProblems(this IApplicationBuilder app) =>
        app.Use(HeadRequests.RouteAsGet)
            .UseAllowedHostNames()
            .UseExceptionHandler()
            .UseRouting()
            .Use(HeadRequests.RunAsHead)
            .Use(HeadRequests.RefuseOtherOrigins)
            .UseWhen(
                static context => context.GetEndpoint()?.Metadata.GetMetadata<ISkipStatusCodePagesMetadata>() is null,
                static branch => branch.UseStatusCodePages());

    /// <summary>
    /// Refuses a method the path does not take, and then oversized bodies, bodies in another charset than UTF-8 or
    /// compressed, query parameters the endpoint does not take or given twice, and a body sent to an endpoint that
    /// takes its parameters in the query string, before anything reads them.
    /// </summary>
    public static IApplicationBuilder UseWonderQRequestChecks(this IApplicationBuilder app) =>
        app.Use(AllowedMethods.RefuseWrongMethod).UseRequestBodyLimit().UseKnownRequestContent().UseKnownQueryParameters().UseQueryOnlyRequests();
}
