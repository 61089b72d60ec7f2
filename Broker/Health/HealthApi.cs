using Microsoft.AspNetCore.Http.HttpResults;
using WonderQ.Broker.Storage;

namespace WonderQ.Broker.Health;

public static class HealthApi
{
    /// <summary>The one path answered without an API key (ApiKeyAuthentication).</summary>
    public const string Path = "/healthz";

    public static IEndpointConventionBuilder MapHealth(this IEndpointRouteBuilder routes) =>
        // Answers HEAD as well, as every GET does (HeadRequests): load balancers and uptime checkers often probe with it.
        routes.MapGet(Path, Check).WithTags("Health").ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .WithSummary("200 when the store answers, 503 otherwise");

    public static async Task<Results<Ok<HealthStatus>, ProblemHttpResult>> Check(IMessageStore store, CancellationToken cancellationToken) =>
        await store.PingAsync(cancellationToken) is { } unhealthy
            ? TypedResults.Problem(unhealthy, statusCode: StatusCodes.Status503ServiceUnavailable, title: "Unhealthy.")
            : TypedResults.Ok(new HealthStatus("ok"));

    public sealed record HealthStatus(string Status);
}
