using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using WonderQ.Shared.Client;

namespace WonderQ.Shared.Web;

/// <summary>
/// For the apps in front of the broker: its refusals (4xx) and its 503s pass through with their status and detail; a
/// broker that does not answer is a 503, and one that answers badly or refuses this app itself (its name or key) a
/// 502, each naming the broker's URL — never a 500.
/// </summary>
public sealed class BrokerProblemMapper(IOptions<BrokerClientOptions> broker) : IProblemMapper
{
    private Uri BrokerUrl => broker.Value.BaseAddress;

    public ProblemDetails? Describe(Exception exception)
    {
        var problem = DescribeOnly(exception);
        if (problem is not null && exception is BrokerException { TraceId: { } traceId })
        {
            // The problem passes on the broker's answer: its trace_id finds the request in the broker's log.
            problem.Extensions[Problems.BrokerTraceIdMember] = traceId;
        }

        return problem;
    }

    private ProblemDetails? DescribeOnly(Exception exception) => exception switch
    {
        // The broker is up but cannot take this now (its cap on waiting consumers, its storage, a shutdown): the
        // caller should retry as it would against the broker itself, so this stays a 503 with the broker's reason.
        BrokerUnavailableException { AnsweredWith: HttpStatusCode.ServiceUnavailable } busy => ProblemExceptionHandler.Problem(
            StatusCodes.Status503ServiceUnavailable,
            "The broker is busy or unavailable.",
            $"The broker at {BrokerUrl} answered 503: {WithRetryHint(busy.Detail)}{MayHaveDoneIt(busy)}"),
        BrokerUnavailableException { AnsweredWith: not null } answered => ProblemExceptionHandler.Problem(
            StatusCodes.Status502BadGateway,
            "The broker answered with an error.",
            $"The broker at {BrokerUrl} answered with a server error: {answered.Detail} Try again shortly; if it persists, check the broker's log{ForTrace(answered)}.{MayHaveDoneIt(answered)}"),
        BrokerUnavailableException unreachable => ProblemExceptionHandler.Problem(
            StatusCodes.Status503ServiceUnavailable,
            "The broker is unreachable.",
            $"The broker at {BrokerUrl} is unreachable: it refused the connection or did not answer in time. Start it (./run.sh), or point Broker:Url at it.{MayHaveDoneIt(unreachable)}"),
        // The caller did nothing wrong: the broker refused this app's name or key, which only its operator can fix.
        BrokerRefusedAppException app => ProblemExceptionHandler.Problem(StatusCodes.Status502BadGateway, app.Title, app.Message),
        // Not the broker's answer (an error page from another server at Broker:Url): its detail says what came back.
        BrokerAnswerNotRecognizedException other => ProblemExceptionHandler.Problem(StatusCodes.Status502BadGateway, other.Title, other.Message),
        BrokerException refused => FromBroker(refused),
        // A success answer the client could not read: whatever listens at Broker:Url is not a WonderQ broker.
        JsonException or NotSupportedException => ProblemExceptionHandler.Problem(
            StatusCodes.Status502BadGateway,
            "The broker's answer could not be read.",
            $"The server at {BrokerUrl} did not answer like a WonderQ broker. Check Broker:Url."),
        _ => null,
    };

    /// <summary>
    /// For a call an attempt of which may have reached the broker, its answer lost: a caller who repeats a send stores
    /// the message again, and one who repeats a create or a delete reads 409 or 404 for what it did itself.
    /// </summary>
    private static string MayHaveDoneIt(BrokerUnavailableException failed) =>
        failed.AnswerMayBeLost ? " The broker may have done it all the same, its answer lost: look before repeating it (a message sent again is stored again)." : "";

    private static string ForTrace(BrokerException failed) => failed.TraceId is { } id ? $" for trace_id {id}" : "";

    /// <summary>The broker's reason, and when to try again unless it says so itself (a full disk: "Try again later.").</summary>
    private static string WithRetryHint(string? detail) =>
        detail is not null && (detail.Contains("Try again", StringComparison.Ordinal) || detail.Contains("Retry", StringComparison.Ordinal))
            ? detail
            : $"{detail} Try again shortly.";

    /// <summary>The broker said no (404, 409, 400...): pass its answer on, so the caller sees why.</summary>
    private static ProblemDetails FromBroker(BrokerException refused)
    {
        var status = (int)refused.Status;
        ProblemDetails problem = refused.Errors.Count > 0 ? new HttpValidationProblemDetails(refused.Errors) : new ProblemDetails();
        problem.Status = status;
        problem.Title = refused.Title;
        problem.Detail = refused.Detail ?? $"The broker answered {status} {refused.Title}.";
        return problem;
    }
}
