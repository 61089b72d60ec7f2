using System.Diagnostics;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using WonderQ.Shared.Validation;

namespace WonderQ.Shared.Web;

/// <summary>The problem+json answers the endpoints give besides validation failures.</summary>
public static class Problems
{
    /// <summary>
    /// The member of a broker's 503 that says nothing of the request was kept (<c>false</c>), so that a client may
    /// repeat it; without it, a 5xx may have come after the work was done.
    /// </summary>
    public const string CommittedMember = "committed";

    /// <summary>
    /// The member of an app's problem that carries the broker's <c>trace_id</c> when the problem passes on the broker's
    /// answer: the broker's log names the failed request by it.
    /// </summary>
    public const string BrokerTraceIdMember = "broker_trace_id";

    /// <summary>The id a problem's <c>trace_id</c> and the log's lines of a failed request name it by.</summary>
    public static string TraceId(HttpContext context) => Activity.Current?.Id ?? context.TraceIdentifier;

    /// <summary>A problem answered by middleware, before or instead of an endpoint.</summary>
    public static async Task WriteAsync(HttpContext context, int status, string title, string detail)
    {
        context.Response.StatusCode = status;
        await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
        });
    }

    // ProblemHttpResult, not NotFound<ProblemDetails>/Conflict<ProblemDetails>: those serialize the problem as plain
    // application/json, and every error must be application/problem+json.
    public static ProblemHttpResult NotFound(string detail, bool withSuccessFlag = false)
    {
        var problem = new ProblemDetails
        {
            Status = StatusCodes.Status404NotFound,
            Title = "Not found.",
            Detail = detail,
        };
        if (withSuccessFlag)
        {
            problem.Extensions["success"] = false;
        }

        return TypedResults.Problem(problem);
    }

    public static ProblemHttpResult Conflict(string detail) => TypedResults.Problem(new ProblemDetails
    {
        Status = StatusCodes.Status409Conflict,
        Title = "Conflict.",
        Detail = detail,
    });

    /// <summary>
    /// The 413 for a message body over <c>Limits:MaxMessageBytes</c>, counted in UTF-8 bytes of the decoded string;
    /// null when the body fits (or there is none).
    /// </summary>
    public static ProblemHttpResult? MessageTooLarge(string? body, LimitsOptions limits)
    {
        var max = limits.MaxMessageBytes;
        return body is not null && Encoding.UTF8.GetByteCount(body) is var bytes && bytes > max
            ? TypedResults.Problem(
                $"'body' is {bytes} bytes in UTF-8; the limit is {max} bytes (Limits:MaxMessageBytes).",
                statusCode: StatusCodes.Status413PayloadTooLarge,
                title: "The request is too large.")
            : null;
    }

    /// <summary>A find without <c>id</c> or <c>name</c>: a validation failure keyed <c>id</c>, like any missing field.</summary>
    public static ValidationProblem MissingQueue() => Invalid("id", "Give 'id' or 'name' to say which queue to find.");

    /// <summary>The title of every validation problem, whichever check found it.</summary>
    public const string InvalidTitle = "The request is not valid.";

    /// <summary>A 400 for one field, its message both the detail and the field's one error.</summary>
    public static ValidationProblem Invalid(string field, string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [message] }, detail: message, title: InvalidTitle);
}
