using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using WonderQ.Broker.Messages;
using WonderQ.Broker.Storage;
using WonderQ.Shared.Validation;

namespace WonderQ.Broker.Infrastructure;

/// <summary>
/// Turns every exception into a problem+json answer a person can act on. Bad input (unreadable JSON, wrong content
/// type, an oversized body) is a 4xx that says what was wrong; anything else is a 5xx that says nothing of the
/// broker's insides.
/// </summary>
public sealed class ProblemExceptionHandler(
    IProblemDetailsService problems,
    IOptions<LimitsOptions> limits,
    ILogger<ProblemExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is OperationCanceledException && httpContext.RequestAborted.IsCancellationRequested)
        {
            // The client left; there is no one to answer.
            return true;
        }

        var (status, title, detail) = Describe(exception);
        if (status >= 500)
        {
            logger.LogError(exception, "Request {Method} {Path} failed", httpContext.Request.Method, httpContext.Request.Path);
        }

        httpContext.Response.StatusCode = status;
        if (status == StatusCodes.Status503ServiceUnavailable)
        {
            httpContext.Response.Headers.RetryAfter = "1";
        }

        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
        });
    }

    private (int Status, string Title, string Detail) Describe(Exception exception) => exception switch
    {
        BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => (
            413,
            "The request is too large.",
            $"The request body is over the limit of {limits.Value.MaxRequestBodyBytes} bytes (Limits:MaxRequestBodyBytes)."),
        BadHttpRequestException { StatusCode: StatusCodes.Status415UnsupportedMediaType } => (
            415,
            "Unsupported media type.",
            "Send the request body as JSON with 'Content-Type: application/json'."),
        BadHttpRequestException { InnerException: JsonException json } => (400, "The request body is not valid JSON.", DescribeJson(json)),
        BadHttpRequestException { StatusCode: StatusCodes.Status400BadRequest } bad when bad.Message.Contains("was not provided", StringComparison.Ordinal) => (
            400,
            "The request body is missing.",
            "This endpoint needs a JSON object as its request body."),
        BadHttpRequestException bad when bad.StatusCode is >= 400 and < 500 => (
            bad.StatusCode,
            "The request could not be read.",
            "The request is malformed; check its body, content type and parameters."),
        JsonException json => (400, "The request body is not valid JSON.", DescribeJson(json)),
        TooManyWaitersException tooMany => (503, "Too many waiting consumers.", tooMany.Message),
        StoreUnavailableException => (503, "The message store is unavailable.", "The broker could not reach its storage. Try again shortly."),
        _ => (500, "An unexpected error occurred.", "The broker could not complete the request. Try again; if it keeps failing, see the broker's log."),
    };

    /// <summary>Where the JSON went wrong, from the parser's position data, never from its exception text.</summary>
    private static string DescribeJson(JsonException json)
    {
        var where = json.Path is { Length: > 1 } path ? $" at '{path}'" : "";
        var position = json.LineNumber is { } line ? $" (line {line + 1}, byte {json.BytePositionInLine + 1})" : "";
        return json.InnerException is InvalidOperationException or FormatException || json.Message.Contains("could not be converted", StringComparison.Ordinal)
            ? $"A value{where} has the wrong JSON type{position}: 'name', 'queue_name', 'body' and 'reservation_token' are strings; 'queue_id' is an integer."
            : json.Message.Contains("Duplicate", StringComparison.OrdinalIgnoreCase)
                ? $"A property appears twice{where}{position}."
                : $"The request body is not well-formed JSON{where}{position}.";
    }
}
