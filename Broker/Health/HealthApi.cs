using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using WonderQ.Broker.Storage;
using WonderQ.Shared.Web;

namespace WonderQ.Broker.Health;

public static class HealthApi
{
    /// <summary>The one path answered without an API key (ApiKeyAuthentication).</summary>
    public const string Path = "/healthz";

    public static IEndpointConventionBuilder MapHealth(this IEndpointRouteBuilder routes) =>
        // Answers HEAD as well, as every GET does (HeadRequests): load balancers and uptime checkers often probe with it.
        routes.MapGet(Path, Check).WithTags("Health").ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .WithSummary("200 when the store answers, 503 otherwise");

    public static async Task<Results<Ok<HealthStatus>, ProblemHttpResult>> Check(
        IMessageStore store, IOptions<OutageOptions> outages, HttpContext context, CancellationToken cancellationToken)
    {
        // A health answer is of this moment: a cache between the broker and its monitor must not keep one, as ASP.NET
        // Core's own health checks ask (and as every other 503, from the exception handler, does).
        context.Response.Headers.CacheControl = "no-store, no-cache";
        if (await store.PingAsync(cancellationToken) is not { } unhealthy)
        {
            return TypedResults.Ok(new HealthStatus("ok"));
        }

        // With the Retry-After of every other 503 (ProblemExceptionHandler): a monitor that honours it probes again when
        // a client would try again.
        context.Response.Headers.RetryAfter = outages.Value.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        return TypedResults.Problem(unhealthy, statusCode: StatusCodes.Status503ServiceUnavailable, title: "Unhealthy.");
    }

    public sealed record HealthStatus(string Status);
}
