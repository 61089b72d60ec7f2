using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace WonderQ.Shared.Web;

/// <summary>An app's own exceptions and the problem each is answered with; null for one it does not know.</summary>
public interface IProblemMapper
{
    ProblemDetails? Describe(Exception exception);
}

/// <summary>
/// Part of an app that logs some failures its own way (once per outage, say): the handler still answers them but
/// leaves their logging to it, so one outage is not reported twice.
/// </summary>
public interface IFailureLog
{
    /// <summary>True for an exception this logs itself.</summary>
    bool Logs(Exception exception);
}

/// <summary>
/// Turns every exception into a problem+json answer a person can act on. Bad input (unreadable JSON, wrong content
/// type, an oversized body) is a 4xx that says what was wrong, from the parser's position data and never from its
/// exception text; an app's own exceptions go through its <see cref="IProblemMapper"/>s; anything else is a 500 that
/// says nothing of the app's insides.
/// </summary>
public sealed partial class ProblemExceptionHandler(
    IProblemDetailsService problems,
    IEnumerable<IProblemMapper> mappers,
    IEnumerable<IFailureLog> failureLogs,
    IOptions<OutageOptions> outages,
    TimeProvider time,
    ILogger<ProblemExceptionHandler> logger) : IExceptionHandler
{
    private readonly LogThrottle _outageLog = new(time, outages.Value.LogInterval);

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is OperationCanceledException && httpContext.RequestAborted.IsCancellationRequested)
        {
            // The client left; there is no one to answer.
            return true;
        }

        var problem = mappers.Select(m => m.Describe(exception)).FirstOrDefault(p => p is not null) ?? Describe(exception, httpContext);
        var status = problem.Status ?? StatusCodes.Status500InternalServerError;
        if (!failureLogs.Any(log => log.Logs(exception)))
        {
            Log(httpContext, exception, problem, status);
        }

        httpContext.Response.StatusCode = status;
        if (status == StatusCodes.Status503ServiceUnavailable)
        {
            httpContext.Response.Headers.RetryAfter = outages.Value.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        }

        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = problem,
        });
    }

    /// <summary>
    /// A detail may pass on the broker's own words (<see cref="BrokerProblemMapper"/>), which are whatever the server at
    /// Broker:Url sent: escaped (<see cref="LogText"/>), they cannot forge a line of the log. The answer's JSON needs no
    /// such care, as its encoder escapes them.
    /// </summary>
    private void Log(HttpContext httpContext, Exception exception, ProblemDetails problem, int status)
    {
        if (status == StatusCodes.Status500InternalServerError)
        {
            logger.LogError(exception, "Request {Method} {Path} failed (trace_id {TraceId})", httpContext.Request.Method, httpContext.Request.Path, Problems.TraceId(httpContext));
        }
        else if (status == StatusCodes.Status503ServiceUnavailable)
        {
            LogOutage(httpContext, problem);
        }
        else if (status >= 500)
        {
            logger.LogWarning(
                "Request {Method} {Path} (trace_id {TraceId}): {Detail}",
                httpContext.Request.Method,
                httpContext.Request.Path,
                Problems.TraceId(httpContext),
                LogText.Printable(problem.Detail));
        }
    }

    /// <summary>
    /// Expected outages (a broker down, a full long-poll cap): one line, no stack trace, and at most one every
    /// <see cref="OutageOptions.LogInterval"/>, counting the rest. A dashboard polling each second would
    /// otherwise write a line a second for as long as the broker is down.
    /// </summary>
    private void LogOutage(HttpContext httpContext, ProblemDetails problem)
    {
        if (!_outageLog.ShouldLog(out var unlogged, out _))
        {
            return;
        }

        logger.LogWarning(
            "Request {Method} {Path} (trace_id {TraceId}): {Detail}{Repeats}",
            httpContext.Request.Method,
            httpContext.Request.Path,
            Problems.TraceId(httpContext),
            LogText.Printable(problem.Detail),
            LogThrottle.Repeats(unlogged, "answer", "answers"));
    }

    public static ProblemDetails Problem(int status, string title, string detail) =>
        new() { Status = status, Title = title, Detail = detail };

    private ProblemDetails Describe(Exception exception, HttpContext httpContext) => exception switch
    {
        AppStoppingException stopping => Problem(503, "The app is shutting down.", stopping.Message),
        RefusedRequestException { Field: { } field } refused => FieldProblem(refused.Status, refused.Title, field, refused.Detail),
        RefusedRequestException refused => Problem(refused.Status, refused.Title, refused.Detail),
        // Titled and explained by StatusDetails.Fill, as the framework's own answers of these statuses are.
        BadHttpRequestException { StatusCode: StatusCodes.Status408RequestTimeout or StatusCodes.Status413PayloadTooLarge or StatusCodes.Status415UnsupportedMediaType } bad =>
            new() { Status = bad.StatusCode },
        BadHttpRequestException { InnerException: JsonException json } when UnknownField(json) is { } name => DescribeUnknownField(name, httpContext),
        BadHttpRequestException { InnerException: JsonException json } => DescribeJson(json),
        // "Required parameter ... was not provided from body" for an explicit body, "... but no body was provided" for an inferred one.
        BadHttpRequestException { StatusCode: StatusCodes.Status400BadRequest } bad when bad.Message.Contains("was not provided", StringComparison.Ordinal)
            || bad.Message.Contains("no body was provided", StringComparison.Ordinal) => Problem(
            400,
            "The request body is missing.",
            "This endpoint needs a JSON object as its request body."),
        BadHttpRequestException bad when bad.StatusCode is >= 400 and < 500 => Problem(
            bad.StatusCode,
            "The request could not be read.",
            "The request is malformed; check its body, content type and parameters."),
        _ => Problem(
            500,
            "An unexpected error occurred.",
            "The request could not be completed. Try again; if it keeps failing, see the app's log."),
    };

    /// <summary>
    /// Where the JSON went wrong, from the parser's position data, never from its exception text. A value that does
    /// not fit its field (a string for an id, a fraction for a count) is well-formed JSON: that is a validation problem
    /// keyed by the field, as the validators' own are, and only a document the parser could not read is "not valid JSON".
    /// </summary>
    private static ProblemDetails DescribeJson(JsonException json)
    {
        var where = json.Path is { Length: > 1 } path ? $" at '{path}'" : "";
        var position = json.LineNumber is { } line ? $" (line {line + 1}, byte {json.BytePositionInLine + 1})" : "";

        // The reader's depth limit: a document it stopped reading is not for that malformed. Its text is the only sign.
        if (json.Message.Contains("maximum allowed depth", StringComparison.Ordinal) || json.Message.Contains("maximum configured depth", StringComparison.Ordinal))
        {
            return Problem(400, NotValidJson, $"The request body is nested deeper than 64 levels{where}{position}: this API's requests are flat objects.");
        }

        // Bytes that are not UTF-8 are no JSON text at all (RFC 8259 section 8.1); a lone surrogate escape is well-formed.
        if (json.InnerException is InvalidOperationException { Message: var transcoding } && transcoding.Contains("UTF-8", StringComparison.Ordinal))
        {
            return Problem(400, NotValidJson, $"The string{where} is not valid Unicode{position}: send UTF-8.");
        }

        if (json.InnerException is not (InvalidOperationException or FormatException) && !json.Message.Contains("could not be converted", StringComparison.Ordinal))
        {
            return Problem(400, NotValidJson, json.Message.Contains("Duplicate", StringComparison.OrdinalIgnoreCase)
                ? $"A property appears twice{where}{position}."
                : $"The request body is not well-formed JSON{where}{position}.");
        }

        var detail = json.InnerException switch
        {
            InvalidOperationException { Message: var text } when text.Contains(" UTF-", StringComparison.Ordinal) =>
                $"The string{where} is not valid Unicode{position}: a lone surrogate escape (\\ud800 to \\udfff) is no character.",
            // The reader's FormatException is a number token that does not fit the field: a fraction, an exponent, or past its type.
            FormatException =>
                $"The number{where} is out of range or not written as a whole number{position}: ids and counts are whole numbers without a fraction or an exponent, within the limits this API documents.",
            _ => $"The value{where} has the wrong JSON type{position}: names, bodies and tokens are strings; ids and counts are integers.",
        };
        // Keyed by the field's wire name, as a validator's problem is: the reader matches names without regard to case,
        // so the path carries the name as sent ($.Queue_Id), and every field's wire name is snake_case in lower case.
        return TopLevelField().Match(json.Path ?? "") is { Success: true } field
            ? FieldProblem(400, Problems.InvalidTitle, field.Groups[1].Value.ToLowerInvariant(), detail)
            : Problem(400, "The request body is not the JSON object this endpoint takes.", detail);
    }

    private const string NotValidJson = "The request body is not valid JSON.";

    /// <summary>
    /// The field System.Text.Json found no member for (the apps read bodies with
    /// <see cref="System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow"/>); null for any other failure. Its
    /// message is the only sign, and names it as sent; the request types are flat, so it is always a top-level field.
    /// </summary>
    private static string? UnknownField(JsonException json) =>
        json.InnerException is null && UnmappedMember().Match(json.Message) is { Success: true } unmapped ? unmapped.Groups[1].Value : null;

    /// <summary>A field the endpoint does not take is a validation failure keyed by it, as a field of the wrong type is.</summary>
    private static ProblemDetails DescribeUnknownField(string name, HttpContext httpContext)
    {
        // The exception handler has cleared the endpoint from the request by now, and kept it here.
        var parameters = httpContext.Features.Get<IExceptionHandlerFeature>()?.Endpoint is { } endpoint
            && httpContext.RequestServices.GetService<EndpointParameterCatalog>() is { } catalog
                ? catalog.Of(endpoint)
                : EndpointParameters.Unknown;
        return FieldProblem(400, Problems.InvalidTitle, name, parameters.UnknownBodyField(name));
    }

    /// <summary>A problem keyed by the one field it is about, as a validator's is.</summary>
    private static HttpValidationProblemDetails FieldProblem(int status, string title, string field, string detail) =>
        new(new Dictionary<string, string[]> { [field] = [detail] }) { Status = status, Title = title, Detail = detail };

    [GeneratedRegex(@"^The JSON property '(.*)' could not be mapped to any \.NET member contained in type '[^']*'\.", RegexOptions.Singleline)]
    private static partial Regex UnmappedMember();

    [GeneratedRegex(@"^\$\.([A-Za-z_]+)$")]
    private static partial Regex TopLevelField();
}
