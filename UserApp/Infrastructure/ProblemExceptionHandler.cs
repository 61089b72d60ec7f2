using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using WonderQ.Shared.Client;
using WonderQ.Shared.Validation;

namespace WonderQ.UserApp.Infrastructure;

/// <summary>
/// Turns every exception into a problem+json answer a person can act on. Bad input is a 4xx that says what was
/// wrong; a broker that cannot be reached is a 503 (or a 502 when it answered with an error of its own), never a 500.
/// </summary>
public sealed class ProblemExceptionHandler(
    IProblemDetailsService problems,
    IOptions<LimitsOptions> limits,
    IOptions<BrokerClientOptions> broker,
    ILogger<ProblemExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is OperationCanceledException && httpContext.RequestAborted.IsCancellationRequested)
        {
            // The client left; there is no one to answer.
            return true;
        }

        var (status, title, detail, errors) = Describe(exception);
        if (exception is BrokerUnavailableException)
        {
            logger.LogWarning("Request {Method} {Path} failed: {Detail}", httpContext.Request.Method, httpContext.Request.Path, exception.Message);
        }
        else if (status >= 500)
        {
            logger.LogError(exception, "Request {Method} {Path} failed", httpContext.Request.Method, httpContext.Request.Path);
        }

        ProblemDetails problem = errors is { Count: > 0 }
            ? new HttpValidationProblemDetails(errors) { Status = status, Title = title, Detail = detail }
            : new ProblemDetails { Status = status, Title = title, Detail = detail };
        httpContext.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = problem,
        });
    }

    private (int Status, string Title, string Detail, IDictionary<string, string[]>? Errors) Describe(Exception exception) => exception switch
    {
        // The client throws this for a broker that did not answer (inner exception) or answered 5xx (none).
        BrokerUnavailableException { InnerException: null } unavailable => (
            502,
            "The broker failed.",
            $"The broker at {broker.Value.Url} answered with an error: {unavailable.Detail} Try again shortly.",
            null),
        BrokerUnavailableException unavailable => (
            503,
            "The broker is unreachable.",
            $"{unavailable.Detail} Is it running? Start it with ./run.sh or point Broker:Url at it.",
            null),
        // A 4xx from the broker is about what was asked: pass it on as it came.
        BrokerException refused => ((int)refused.Status, refused.Title, refused.Detail ?? refused.Title, refused.Errors),
        BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => (
            413,
            "The request is too large.",
            $"The request body is over the limit of {limits.Value.MaxRequestBodyBytes} bytes (Limits:MaxRequestBodyBytes).",
            null),
        BadHttpRequestException { StatusCode: StatusCodes.Status415UnsupportedMediaType } => (
            415,
            "Unsupported media type.",
            "Send the request body as JSON with 'Content-Type: application/json'.",
            null),
        BadHttpRequestException { InnerException: JsonException json } => (400, "The request body is not valid JSON.", DescribeJson(json), null),
        BadHttpRequestException { StatusCode: StatusCodes.Status400BadRequest } bad when bad.Message.Contains("was not provided", StringComparison.Ordinal) => (
            400,
            "The request body is missing.",
            "This endpoint needs a JSON object as its request body.",
            null),
        BadHttpRequestException bad when bad.StatusCode is >= 400 and < 500 => (
            bad.StatusCode,
            "The request could not be read.",
            "The request is malformed; check its body, content type and parameters.",
            null),
        JsonException json => (400, "The request body is not valid JSON.", DescribeJson(json), null),
        _ => (500, "An unexpected error occurred.", "The UserApp could not complete the request. Try again; if it keeps failing, see its log.", null),
    };

    /// <summary>Where the JSON went wrong, from the parser's position data, never from its exception text.</summary>
    private static string DescribeJson(JsonException json)
    {
        var where = json.Path is { Length: > 1 } path ? $" at '{path}'" : "";
        var position = json.LineNumber is { } line ? $" (line {line + 1}, byte {json.BytePositionInLine + 1})" : "";
        return json.InnerException is InvalidOperationException or FormatException || json.Message.Contains("could not be converted", StringComparison.Ordinal)
            ? $"A value{where} has the wrong JSON type{position}: 'queue_name' and 'body' are strings; 'queue_id' and 'stub' are integers."
            : json.Message.Contains("Duplicate", StringComparison.OrdinalIgnoreCase)
                ? $"A property appears twice{where}{position}."
                : $"The request body is not well-formed JSON{where}{position}.";
    }
}
