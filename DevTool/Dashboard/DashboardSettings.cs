using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using WonderQ.Shared.Client;

namespace WonderQ.DevTool.Dashboard;

/// <summary>What the page needs of the DevTool's settings, in milliseconds for <c>setTimeout</c>.</summary>
public sealed record DashboardSettings(int RefreshIntervalMs, int RequestTimeoutMs, int StaleAfterMs, int PreviewCharacters)
{
    /// <summary>
    /// The page waits for an answer this much longer than the DevTool waits for the broker, so that an unreachable
    /// broker reaches the page as the DevTool's 503 naming it rather than as the page giving up on the DevTool.
    /// </summary>
    public static readonly TimeSpan RequestTimeoutMargin = TimeSpan.FromSeconds(2);

    public static DashboardSettings From(DashboardOptions dashboard, BrokerClientOptions broker) => new(
        Milliseconds(dashboard.RefreshInterval),
        Milliseconds(broker.TotalTimeout + RequestTimeoutMargin),
        Milliseconds(dashboard.StaleAfter),
        dashboard.PreviewCharacters);

    private static int Milliseconds(TimeSpan time) => (int)Math.Ceiling(time.TotalMilliseconds);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(DashboardSettings))]
internal sealed partial class DashboardJsonContext : JsonSerializerContext;

public static class DashboardSettingsApi
{
    public static IEndpointRouteBuilder MapDashboardSettings(this IEndpointRouteBuilder routes)
    {
        var settings = routes.ServiceProvider.GetRequiredService<IOptions<DashboardOptions>>();
        var broker = routes.ServiceProvider.GetRequiredService<IOptions<BrokerClientOptions>>();
        routes.MapGet("/dashboard/settings", () =>
                TypedResults.Json(DashboardSettings.From(settings.Value, broker.Value), DashboardJsonContext.Default.DashboardSettings))
            .WithTags("Dashboard")
            .WithSummary("The page's refresh interval, request timeout, staleness threshold and body preview length");
        return routes;
    }
}
