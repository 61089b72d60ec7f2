using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using WonderQ.Shared.Client;
using WonderQ.Shared.Validation;

namespace WonderQ.DevTool.Infrastructure;

/// <summary>
/// Turns every exception into a problem+json answer a person can act on. The broker's own refusals (4xx) pass
/// through with their status and detail; a broker that does not answer is a 503 and one that answers badly a 502,
/// each naming the broker's URL. Nothing else shows the DevTool's insides.
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

        var problem = Describe(exception);
        if (problem.Status == StatusCodes.Status500InternalServerError)
        {
            logger.LogError(exception, "Request {Method} {Path} failed", httpContext.Request.Method, httpContext.Request.Path);
        }
        else if (problem.Status is StatusCodes.Status502BadGateway or StatusCodes.Status503ServiceUnavailable)
        {
            // The dashboard polls every second, so a broker that is down would flood the log at a higher level.
            logger.LogDebug("Request {Method} {Path}: {Detail}", httpContext.Request.Method, httpContext.Request.Path, problem.Detail);
        }

        httpContext.Response.StatusCode = problem.Status!.Value;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = problem,
        });
    }

    private ProblemDetails Describe(Exception exception) => exception switch
    {
        BrokerUnavailableException { InnerException: null } answered => Problem(
            StatusCodes.Status502BadGateway,
            "The broker answered with an error.",
            $"The broker at {BrokerUrl} answered with a server error: {answered.Detail} Check the broker's log."),
        BrokerUnavailableException => Problem(
            StatusCodes.Status503ServiceUnavailable,
            "The broker is unreachable.",
            $"The broker at {BrokerUrl} is unreachable: it refused the connection or did not answer in time. Start it, or point Broker:Url at it."),
        // The caller did nothing wrong: the DevTool's own key is missing or wrong, which only its operator can fix.
        BrokerException { Status: HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden } denied => Problem(
            StatusCodes.Status502BadGateway,
            "The broker refused the DevTool.",
            $"The broker at {BrokerUrl} answered {(int)denied.Status} {denied.Title}: set Broker:ApiKey to one of the broker's API keys."),
        BrokerException refused => FromBroker(refused),
        // A success answer the client could not read: the broker (or whatever listens at Broker:Url) spoke another language.
        JsonException or NotSupportedException => Problem(
            StatusCodes.Status502BadGateway,
            "The broker's answer could not be read.",
            $"The server at {BrokerUrl} did not answer like a WonderQ broker. Check Broker:Url."),
        BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => Problem(
            413,
            "The request is too large.",
            $"The request body is over the limit of {limits.Value.MaxRequestBodyBytes} bytes (Limits:MaxRequestBodyBytes)."),
        BadHttpRequestException { StatusCode: StatusCodes.Status415UnsupportedMediaType } => Problem(
            415,
            "Unsupported media type.",
            "Send the request body as JSON with 'Content-Type: application/json'."),
        BadHttpRequestException { InnerException: JsonException } => Problem(
            400,
            "The request body is not valid JSON.",
            "The request body must be a JSON object: {\"name\": \"...\"} to create a queue, {\"queue_name\": \"...\", \"body\": \"...\"} to send a message."),
        BadHttpRequestException bad when bad.StatusCode is >= 400 and < 500 => Problem(
            bad.StatusCode,
            "The request could not be read.",
            "The request is malformed; check its body, content type and parameters."),
        _ => Problem(
            500,
            "An unexpected error occurred.",
            "The DevTool could not complete the request. Try again; if it keeps failing, see the DevTool's log."),
    };

    private Uri BrokerUrl => broker.Value.Url;

    /// <summary>The broker said no (404, 409, 400...): pass its answer on, so the page can show why.</summary>
    private static ProblemDetails FromBroker(BrokerException refused)
    {
        var status = (int)refused.Status;
        ProblemDetails problem = refused.Errors.Count > 0
            ? new HttpValidationProblemDetails(refused.Errors)
            : new ProblemDetails();
        problem.Status = status;
        problem.Title = refused.Title;
        problem.Detail = refused.Detail ?? $"The broker answered {status} {refused.Title}.";
        if (refused.Status == HttpStatusCode.NotFound)
        {
            problem.Extensions["success"] = false;
        }

        return problem;
    }

    private static ProblemDetails Problem(int status, string title, string detail) =>
        new() { Status = status, Title = title, Detail = detail };
}
