using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace WonderQ.Shared.Web;

/// <summary>
/// The writer of last resort, registered after the default one. The default writer declines when the request's
/// Accept header leaves out JSON (<c>Accept: text/html</c>); an error would then go out with an empty or plain-text
/// body, and where a writer is required (a refusal middleware writes with <see cref="Problems.WriteAsync"/>: a Host
/// not answered, a cross-site consume, a missing API key) as a 500. Every error is problem+json, whatever was asked.
/// </summary>
public sealed class ProblemJsonFallbackWriter(IOptions<ProblemDetailsOptions> problemOptions, IOptions<JsonOptions> jsonOptions)
    : IProblemDetailsWriter
{
    public bool CanWrite(ProblemDetailsContext context) => true;

    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        var response = context.HttpContext.Response;
        var problem = context.ProblemDetails;
        problem.Status ??= response.StatusCode;
        problem.Title ??= ReasonPhrases.GetReasonPhrase(problem.Status.Value);
        // What the default writer gives the same problem, so that one asked for by a browser is no poorer: the type of
        // its status (a ProblemHttpResult fills it in as it is made) and the trace id the log names the request by.
        _ = TypedResults.Problem(problem);
        var json = jsonOptions.Value.SerializerOptions;
        problem.Extensions.TryAdd(
            json.PropertyNamingPolicy?.ConvertName("traceId") ?? "traceId",
            Problems.TraceId(context.HttpContext));
        problemOptions.Value.CustomizeProblemDetails?.Invoke(context);

        var typeInfo = json.GetTypeInfo(problem.GetType());
        return new ValueTask(response.WriteAsJsonAsync(problem, typeInfo, "application/problem+json", context.HttpContext.RequestAborted));
    }
}
