using System.Net;
using Microsoft.AspNetCore.HostFiltering;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace WonderQ.Shared.Web;

/// <summary>
/// DNS rebinding: a web page whose own name its author points at 127.0.0.1 is same-origin to the browser, so no
/// <c>Sec-Fetch-Site</c> gives it away, and it could read, send and drain messages through an app on localhost. Only
/// the <c>Host</c> it sends tells. Each app answers the names in <c>AllowedHosts</c> (ASP.NET Core's setting, matched as
/// the framework matches it: ports ignored, <c>*.example.com</c> for subdomains, <c>*</c> for any) and refuses any
/// other with problem+json that says which setting lets it in. The framework's own filter would answer a bare 400
/// before any middleware of the app runs, so it is told to let every name through to this one.
/// </summary>
public static class AllowedHostNames
{
    public const string Key = "AllowedHosts";

    /// <summary>
    /// How the detail of a refused name begins: the broker client reads it to tell a broker that does not answer the
    /// name in <c>Broker:Url</c> from one that refuses what its caller asked.
    /// </summary>
    public const string RefusalPrefix = "This app does not answer the name ";

    internal static IServiceCollection HandOverHostFiltering(this IServiceCollection services)
    {
        services.Configure<HostFilteringOptions>(options => options.AllowedHosts = ["*"]);
        // The framework takes a value that names no host as *: an empty variable (AllowedHosts=${HOSTS} with HOSTS unset)
        // would answer every name without a word, and let a DNS-rebinding page in. Unset, as the framework's bare
        // defaults leave it when there is no appsettings.json (said at start), it still answers any.
        services.AddOptions<HostFilteringOptions>()
            .Validate<IConfiguration>(
                (_, configuration) => configuration[Key] is not { } value || Names(value).Length > 0,
                $"{Key} names no host: give the names this app answers, ';'-separated (localhost;127.0.0.1;[::1] in appsettings.json), or * for any.")
            .ValidateOnStart();
        return services;
    }

    /// <summary>The setting's names; empty when it allows any (<c>*</c>, or unset as the framework takes it).</summary>
    public static IReadOnlyList<string> Of(IConfiguration configuration)
    {
        var names = Names(configuration[Key] ?? "");
        return names.Contains("*") ? [] : names;
    }

    private static string[] Names(string value) => value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>
    /// Each app answers only the Host names of this machine by default, so that a web page whose own name the attacker
    /// points at 127.0.0.1 (DNS rebinding) cannot read or drain its queues. An app told
    /// to listen beyond loopback would then refuse its remote clients: said at start, with the setting that lets them in.
    /// </summary>
    internal static void WarnIfReachableButAnsweringLocalNamesOnly(WebApplication app)
    {
        var allowed = Of(app.Configuration);
        if (allowed.Count == 0 || !allowed.All(IsLocalName))
        {
            return;
        }

        // A Unix socket or named pipe is this machine's alone.
        var reachable = app.Urls.Where(url => BindingAddress.Parse(url) is { IsUnixPipe: false, IsNamedPipe: false } address && !IsLocalName(address.Host)).ToList();
        if (reachable.Count > 0)
        {
            app.Logger.LogWarning(
                "Listening on {Addresses} beyond this machine, but AllowedHosts ({AllowedHosts}) answers only requests addressed to localhost: any other name or address is refused with a 400. Add the names and addresses clients use to AllowedHosts (';'-separated), or * for any.",
                string.Join(", ", reachable), string.Join(';', allowed));
        }
    }

    private static bool IsLocalName(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
        || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase)
        || (IPAddress.TryParse(host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));

    internal static IApplicationBuilder UseAllowedHostNames(this IApplicationBuilder app)
    {
        var names = Of(app.ApplicationServices.GetRequiredService<IConfiguration>());
        if (names.Count == 0)
        {
            return app;
        }

        // As the framework's filter takes them: an international name in the form a Host header carries it.
        List<StringSegment> patterns = [.. names.Select(name => new StringSegment(new HostString(name).ToUriComponent()))];
        return app.Use((context, next) =>
        {
            var host = context.Request.Headers.Host.ToString();
            // HTTP/1.0 may send no Host at all, which the framework lets through too; no browser omits it.
            return host.Length == 0 || HostString.MatchesAny(host, patterns) ? next(context) : RefuseAsync(context, host);
        });
    }

    /// <summary>
    /// Names the host without its port: the setting ignores ports, and an entry written with one matches nothing, so
    /// "localhost:3213" added as told would leave localhost refused.
    /// </summary>
    private static Task RefuseAsync(HttpContext context, string host) =>
        Problems.WriteAsync(
            context,
            StatusCodes.Status400BadRequest,
            "Bad Request.",
            $"{RefusalPrefix}{new HostString(host).Host} (Host): call it by a name in its {Key} setting, or add that name there.");
}
