using System.Net;

namespace WonderQ.Shared.Client;

/// <summary>The broker answered with an error; carries its problem+json so callers can pass the detail on.</summary>
public class BrokerException(HttpStatusCode status, string title, string? detail, IDictionary<string, string[]>? errors = null, Exception? inner = null)
    : Exception(detail ?? title, inner)
{
    public HttpStatusCode Status { get; } = status;

    public string Title { get; } = title;

    public string? Detail { get; } = detail;

    public IDictionary<string, string[]> Errors { get; } = errors ?? new Dictionary<string, string[]>();

    /// <summary>
    /// The <c>trace_id</c> of the broker's answer, when it gave one: its log names a request that failed on its side
    /// by it.
    /// </summary>
    public string? TraceId { get; internal set; }
}

/// <summary>
/// The broker could not be reached (refused, reset, timed out), or answered with a server error, even after the
/// retries. <see cref="AnsweredWith"/> is the status of its answer, null when there was none.
/// </summary>
public sealed class BrokerUnavailableException(string detail, Exception? inner = null, HttpStatusCode? answeredWith = null)
    : BrokerException(HttpStatusCode.ServiceUnavailable, "The broker is unreachable.", detail, null, inner)
{
    public HttpStatusCode? AnsweredWith { get; } = answeredWith;

    /// <summary>
    /// Whether an attempt of the call may have reached the broker and been carried out, its answer lost (a timeout, a
    /// connection broken once the request was sent, a 5xx): a caller that tries again may find the work done.
    /// </summary>
    public bool AnswerMayBeLost { get; internal set; }
}

/// <summary>
/// An error answer that is not problem+json, which every WonderQ broker error is: whatever listens at Broker:Url (a
/// mistyped port, another server) said it, not the broker. <see cref="BrokerException.Status"/> is 502, what an app
/// in front answers for it, so no caller takes that server's 404 for "no such queue"; its own status is in the detail.
/// </summary>
public sealed class BrokerAnswerNotRecognizedException(string detail)
    : BrokerException(HttpStatusCode.BadGateway, "The broker's answer could not be read.", detail);

/// <summary>
/// The broker refused this app itself, whatever it was asked: the name this app calls it by (the host of
/// <c>Broker:Url</c>, not in the broker's <c>AllowedHosts</c>) or this app's key (<c>Broker:ApiKey</c>). No caller of the
/// app can change that, only its operator: <see cref="BrokerException.Detail"/> names the setting to look at, and
/// <see cref="BrokerException.Status"/> stays the broker's (400, 401, 403).
/// </summary>
public sealed class BrokerRefusedAppException(HttpStatusCode status, string detail)
    : BrokerException(status, "The broker refused this app.", detail);
