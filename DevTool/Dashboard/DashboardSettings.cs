using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using WonderQ.Shared.Client;
using WonderQ.Shared.Validation;

namespace WonderQ.DevTool.Dashboard;

/// <summary>
/// What the page needs of the DevTool's settings, times in milliseconds for <c>setTimeout</c>: its timings, and the
/// limits its forms offer, so that a changed limit changes the page too.
/// </summary>
public sealed record DashboardSettings(
    int RefreshIntervalMs,
    int RequestTimeoutMs,
    int StaleAfterMs,
    int PreviewCharacters,
    int MaxQueueRows,
    int MaxQueueNameLength,
    int DefaultPeekSize,
    int MaxPeekSize)
{
    /// <summary>
    /// The page waits for an answer this much longer than the DevTool waits for the broker, so that an unreachable
    /// broker reaches the page as the DevTool's 503 naming it rather than as the page giving up on the DevTool.
    /// </summary>
    public static readonly TimeSpan RequestTimeoutMargin = TimeSpan.FromSeconds(2);

    public static DashboardSettings From(DashboardOptions dashboard, BrokerClientOptions broker, LimitsOptions limits) => new(
        Milliseconds(dashboard.RefreshInterval),
        Milliseconds(broker.TotalTimeout + RequestTimeoutMargin),
        Milliseconds(dashboard.StaleAfter),
        dashboard.PreviewCharacters,
        dashboard.MaxQueueRows,
        limits.MaxQueueNameLength,
        limits.DefaultPeekSize,
        limits.MaxBatchSize);

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
        var limits = routes.ServiceProvider.GetRequiredService<IOptions<LimitsOptions>>();
        routes.MapGet("/dashboard/settings", () => TypedResults.Json(
                DashboardSettings.From(settings.Value, broker.Value, limits.Value), DashboardJsonContext.Default.DashboardSettings))
            .WithTags("Dashboard").Produces<DashboardSettings>()
            .WithSummary("The page's refresh interval, request timeout, staleness threshold, body preview length, queue rows and input limits");
        return routes;
    }
}
