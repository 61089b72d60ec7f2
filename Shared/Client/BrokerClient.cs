using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Timeout;
using WonderQ.Shared.Contracts;
using WonderQ.Shared.Json;
using WonderQ.Shared.Validation;
using WonderQ.Shared.Web;

namespace WonderQ.Shared.Client;

/// <summary>
/// The typed client of the broker's HTTP API, one method per endpoint. Transient failures are retried by the
/// resilience pipeline set up in <see cref="BrokerClientServiceCollectionExtensions.AddBrokerClient"/>; what is left
/// surfaces as <see cref="BrokerException"/> (the broker said no) or <see cref="BrokerUnavailableException"/> (it did
/// not answer).
/// </summary>
public sealed class BrokerClient(
    HttpClient http, IOptions<LimitsOptions>? limits = null, IOptions<BrokerClientOptions>? options = null, BrokerRefusalLog? refusals = null,
    BrokerRetryLog? retries = null)
{
    private const string ProblemJson = "application/problem+json";

    /// <summary>
    /// A request body longer than this is sent with <c>Expect: 100-continue</c>, and only once the broker asks for it. A
    /// broker refuses a body over its Limits:MaxRequestBodyBytes by its Content-Length, answers 413 and closes the
    /// connection; a client still writing the rest then has its write reset, and never reads the 413: a 10 MB send was
    /// retried, and ended as one the broker may have stored. Against a broker limited to 1 KiB, sent whole on loopback,
    /// the 413 was lost to one send in ten from 512 KiB, and to most from 2 MiB; a body this short fits in the sockets'
    /// buffers, and is written whole before the broker closes. A longer one waits one round trip for the broker's
    /// <c>100 Continue</c>, which Kestrel sends as the broker begins to read it.
    /// </summary>
    internal const int ExpectContinueAboveBytes = 64 * 1024;

    /// <summary>The member every problem of the broker's carries, named as its JSON names members.</summary>
    private const string TraceIdMember = "trace_id";

    /// <summary>
    /// How a success answer is read: as <see cref="WonderQJson.Options"/>, a member a newer broker adds ignored, but every
    /// member of the contract there, and none null that the contract does not allow null. A JSON <c>null</c> in its
    /// place, or an object without them (<c>{"foo":1}</c> from whatever else listens at Broker:Url), would otherwise be
    /// read as a queue with no name or a message with no body, passed on as the broker's, or fail its caller with a
    /// NullReferenceException (a 500, a listener stopped) far from here.
    /// </summary>
    private static readonly System.Text.Json.JsonSerializerOptions _answerOptions = new(WonderQJson.Options)
    {
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };

    /// <summary>Set on a request so the timeouts stretch by the long poll's own wait.</summary>
    public static readonly HttpRequestOptionsKey<TimeSpan> WaitTimeKey = new("WonderQ.WaitTime");

    /// <summary>Set on a request so the resilience pipeline can note that an attempt of it may have been handled unanswered.</summary>
    internal static readonly HttpRequestOptionsKey<CallNote> CallNoteKey = new("WonderQ.CallNote");

    /// <summary>
    /// Creates a queue; a 409 <see cref="BrokerException"/> when one of that name exists. A retry that reads 409 after
    /// an attempt whose answer was lost (a timeout, a reset, a 5xx other than a 503 saying nothing was committed) finds
    /// the queue and returns it: that attempt may have created it, and the caller would otherwise be told its own queue
    /// was there before it.
    /// </summary>
    public async Task<QueueDto> CreateQueueAsync(string name, CancellationToken cancellationToken = default)
    {
        var call = new CallNote();
        try
        {
            return await SendAsync<QueueDto>(
                HttpMethod.Post,
                "queues",
                JsonBody(new CreateQueueRequest(name)),
                cancellationToken,
                note: call);
        }
        catch (BrokerException ex) when (ex.Status == HttpStatusCode.Conflict && call.AnswerMayBeLost)
        {
            QueueDto? created;
            try
            {
                created = await FindQueueAsync(QueueRef.ByName(name), cancellationToken);
            }
            catch (BrokerUnavailableException unavailable)
            {
                // The find is a read, but it answers for the create, which may have been done.
                unavailable.AnswerMayBeLost = true;
                throw;
            }

            if (created is not null)
            {
                return created;
            }

            throw;
        }
    }

    /// <summary>The queue, or null when there is none.</summary>
    public async Task<QueueDto?> FindQueueAsync(QueueRef queue, CancellationToken cancellationToken = default)
    {
        var query = new List<string>();
        if (queue.Id is { } id)
        {
            query.Add($"id={id.ToString(CultureInfo.InvariantCulture)}");
        }

        if (queue.Name is { } name)
        {
            query.Add($"name={Uri.EscapeDataString(name)}");
        }

        try
        {
            return await SendAsync<QueueDto>(HttpMethod.Get, "queues/find?" + string.Join('&', query), null, cancellationToken);
        }
        catch (BrokerException ex) when (ex.Status == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public async Task<IReadOnlyList<QueueCounts>> ListQueuesAsync(CancellationToken cancellationToken = default) =>
        await SendAsync<QueueCounts[]>(HttpMethod.Get, "queues", null, cancellationToken);

    /// <summary>The oldest messages of a queue without claiming them; throws a 404 <see cref="BrokerException"/> for an unknown queue.</summary>
    public async Task<IReadOnlyList<MessageDto>> PeekAsync(QueueRef queue, int? size = null, CancellationToken cancellationToken = default) =>
        (await PeekIfChangedAsync(queue, size, ifNoneMatch: null, cancellationToken)).Messages ?? [];

    /// <summary>
    /// A peek that sends <paramref name="ifNoneMatch"/> (an entity tag of an earlier <see cref="PeekResult"/>) and gets
    /// no messages back when they are what that answer held.
    /// </summary>
    public async Task<PeekResult> PeekIfChangedAsync(QueueRef queue, int? size, string? ifNoneMatch, CancellationToken cancellationToken = default)
    {
        // Names no queue can have that would not reach the broker as a name, for its 400: one of digits is read as an id,
        // another queue's, and "", "." and ".." are taken out of the path, which then asks /queues/messages or /messages.
        if (queue is { Id: null, Name: { } name } && (name is "" or "." or ".." || QueueNames.IsAllDigits(name)))
        {
            throw new BrokerException(HttpStatusCode.NotFound, "Not found.", $"There is no queue with {queue}: no queue can have that name.");
        }

        if (!await MatchesAsync(queue, cancellationToken))
        {
            throw new BrokerException(HttpStatusCode.NotFound, "Not found.", $"There is no queue with {queue}.");
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, $"queues/{Uri.EscapeDataString(queue.ToRouteSegment())}/messages{Query(("size", size))}");
        // Passed on as it came: a tag the broker cannot parse only means a full answer. One past printable ASCII, which
        // no tag of the broker's is, means the same: HttpClient would refuse to send one past ASCII, as if the broker were
        // down, and would write a CR or LF as it stands, ending the header there, so a caller's tag could add headers,
        // or a whole second request (a DELETE of another queue) on the connection.
        if (ifNoneMatch is not null && Rules.IsPrintableAscii(ifNoneMatch))
        {
            request.Headers.TryAddWithoutValidation("If-None-Match", ifNoneMatch);
        }

        using var response = await SendAsync(request, cancellationToken);
        var tag = response.Headers.ETag?.ToString();
        return response.StatusCode == HttpStatusCode.NotModified
            ? new PeekResult(null, tag)
            : new PeekResult(await ReadAnswerAsync<MessageDto[]>(response, cancellationToken), tag);
    }

    /// <summary>
    /// True when deleted, false when there was no such queue (given an id and a name, none with both). A retry that
    /// reads 404 after an attempt whose answer was lost (a timeout, a reset, a 5xx other than a 503 saying nothing was
    /// committed) is true: that attempt may have deleted it, and the caller would otherwise be told there was no queue
    /// to delete.
    /// </summary>
    public async Task<bool> DeleteQueueAsync(QueueRef queue, CancellationToken cancellationToken = default)
    {
        // Deleted by id, which is never given out again, once a name is found: a retry of a delete by name whose answer
        // was lost would take a queue of that name that another client (a /dispatch, say) created in between, with
        // every message sent to it since.
        var id = queue.Id;
        if (queue.Name is not null)
        {
            if (await FindQueueAsync(queue, cancellationToken) is not { } found)
            {
                return false;
            }

            id = found.Id;
        }

        if (id is null)
        {
            return false;
        }

        var call = new CallNote();
        try
        {
            await SendAsync<SuccessResponse>(HttpMethod.Delete, $"queues/{id.Value.ToString(CultureInfo.InvariantCulture)}", null, cancellationToken, note: call);
            return true;
        }
        catch (BrokerException ex) when (ex.Status == HttpStatusCode.NotFound)
        {
            return call.AnswerMayBeLost;
        }
    }

    /// <summary>
    /// Sends a message. A send whose answer was lost (a timeout, a reset, a proxy's 502) is tried once more, not again
    /// after that: each attempt the broker got stores the message, so a message is stored at most twice. A
    /// <see cref="BrokerUnavailableException"/> with <see cref="BrokerUnavailableException.AnswerMayBeLost"/> set may
    /// have been stored all the same.
    /// </summary>
    public async Task<SendMessageResponse> SendAsync(QueueRef queue, string body, CancellationToken cancellationToken = default) =>
        await SendAsync<SendMessageResponse>(
            HttpMethod.Post,
            "messages",
            JsonBody(new SendMessageRequest(queue.Id, queue.Name, body)),
            cancellationToken,
            note: new CallNote { RepeatStoresAgain = true });

    /// <summary>Long-polls for up to <paramref name="size"/> messages; null parameters take the broker's defaults.</summary>
    public async Task<IReadOnlyList<MessageDto>> ConsumeAsync(
        QueueRef queue, int? size = null, int? waitTimeSeconds = null, int? visibilityTimeoutSeconds = null, CancellationToken cancellationToken = default)
    {
        var path = "messages/consume" + Query(
            ("queue_id", queue.Id),
            ("queue_name", queue.Name),
            ("size", size),
            ("wait_time", waitTimeSeconds),
            ("visibility_timeout", visibilityTimeoutSeconds));
        // Left to the broker, the wait is its default, at most its Limits:MaxWaitTimeSeconds, which this app's Limits
        // repeat: a long poll must not be cut short by the client's own timeout. Bounded by what any broker allows: one
        // outside that is the broker's 400 to give, and stretched by it, the call's timeouts would be negative or past
        // what a timer takes, and the call would throw an ArgumentOutOfRangeException before asking.
        var wait = TimeSpan.FromSeconds(Math.Clamp(
            waitTimeSeconds ?? (limits?.Value ?? new LimitsOptions()).MaxWaitTimeSeconds, 0, LimitsOptions.MaxWaitTimeSecondsTop));
        return await SendAsync<MessageDto[]>(HttpMethod.Get, path, null, cancellationToken, wait);
    }

    /// <summary>
    /// Acknowledges a message. True when deleted, false when there was no such message; a 409 (another consumer holds
    /// it now) is a <see cref="BrokerException"/>. A retry that reads 404 after an attempt whose answer was lost (a
    /// timeout, a reset, a 5xx other than a 503 saying nothing was committed) is true, as for a queue: that attempt may
    /// have deleted it, and the listener would otherwise warn that its own acknowledgement found the message gone.
    /// </summary>
    public async Task<bool> DeleteMessageAsync(long id, string? reservationToken = null, CancellationToken cancellationToken = default)
    {
        var call = new CallNote();
        try
        {
            await SendAsync<SuccessResponse>(
                HttpMethod.Delete,
                $"messages/{id.ToString(CultureInfo.InvariantCulture)}{Query(("reservation_token", reservationToken))}",
                null,
                cancellationToken,
                note: call);
            return true;
        }
        catch (BrokerException ex) when (ex.Status == HttpStatusCode.NotFound)
        {
            return call.AnswerMayBeLost;
        }
    }

    /// <summary>
    /// Whether a queue named by both id and name is one queue. The broker's <c>/queues/{queue}</c> takes one of them,
    /// and the route would carry the id alone: a name that is not that queue's (a broker started afresh on a new
    /// database gives the id out again, to another queue) would go unchecked, and the peek show the other queue's
    /// messages. Ids are never given out twice by one database, so the queue found is the one the id then names.
    /// </summary>
    private async Task<bool> MatchesAsync(QueueRef queue, CancellationToken cancellationToken) =>
        queue.Id is null || queue.Name is null || await FindQueueAsync(queue, cancellationToken) is not null;

    /// <summary>
    /// <paramref name="value"/> as a JSON body of a known length. <see cref="JsonContent"/> streams its JSON in chunks,
    /// without a Content-Length: the broker could then refuse a body over its limit only once it had read that much,
    /// with the rest still to come, and the client, still writing it, lost the 413 to the connection's reset as it
    /// would without <see cref="ExpectContinueAboveBytes"/>.
    /// </summary>
    private static ByteArrayContent JsonBody<T>(T value) =>
        new(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(value, WonderQJson.Options))
        {
            Headers = { ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json") { CharSet = "utf-8" } },
        };

    private static string Query(params (string Name, object? Value)[] parameters)
    {
        var parts = parameters
            .Where(p => p.Value is not null)
            .Select(p => $"{p.Name}={Uri.EscapeDataString(Convert.ToString(p.Value, CultureInfo.InvariantCulture)!)}")
            .ToList();
        return parts.Count == 0 ? "" : "?" + string.Join('&', parts);
    }

    private async Task<T> SendAsync<T>(
        HttpMethod method, string path, HttpContent? content, CancellationToken cancellationToken, TimeSpan? waitTime = null, CallNote? note = null)
        where T : class
    {
        // A request without a body whose connection, kept alive from an earlier call, closes before any answer is sent
        // again by SocketsHttpHandler itself, on a new connection, below the pipeline: it takes the close for a server's
        // idle timeout. A broker killed after committing a delete closes it so, and what that hidden repeat met stood for
        // the attempt: a refused connection (the broker still down), taken for a request that never reached the broker,
        // or the 404 of a broker back up. Either way the delete's 404 read as someone else's: the listener warned that its
        // own acknowledgement found the message gone, and a queue's delete answered that there was no such queue. An empty
        // body (Content-Length: 0, which the broker takes for none) rules the hidden repeat out, so the pipeline sees the
        // connection end unanswered and notes that the answer may be lost.
        var body = content ?? (method == HttpMethod.Delete ? new ByteArrayContent([]) : null);
        using var request = new HttpRequestMessage(method, path) { Content = body };
        if (body?.Headers.ContentLength > ExpectContinueAboveBytes)
        {
            request.Headers.ExpectContinue = true;
        }

        if (waitTime is { } wait)
        {
            request.Options.Set(WaitTimeKey, wait);
        }

        if (note is not null)
        {
            request.Options.Set(CallNoteKey, note);
        }

        using var response = await SendAsync(request, cancellationToken);
        return await ReadAnswerAsync<T>(response, cancellationToken);
    }

    /// <summary>
    /// A success answer's body, read with <see cref="_answerOptions"/>. What is not a WonderQ answer throws the
    /// <see cref="System.Text.Json.JsonException"/> an unreadable one does, which callers take for another server at
    /// Broker:Url: a JSON <c>null</c> where the broker answers an object or a list, or a list holding one (the element
    /// type's annotations cover its members, not the list's items); a charset that .NET cannot read either.
    /// </summary>
    private static async Task<T> ReadAnswerAsync<T>(HttpResponseMessage response, CancellationToken cancellationToken)
        where T : class
    {
        T? answer;
        try
        {
            answer = await response.Content.ReadFromJsonAsync<T>(_answerOptions, cancellationToken);
        }
        catch (InvalidOperationException ex)
        {
            // A charset it does not know (the broker's answers are all UTF-8); left as it was, a 500, and a listener's end.
            throw new System.Text.Json.JsonException(ex.Message, ex);
        }

        if (answer is null || (answer is object?[] items && Array.IndexOf(items, null) >= 0))
        {
            throw new System.Text.Json.JsonException($"The answer holds a null where a {typeof(T).Name} answer holds none.");
        }

        return answer;
    }

    /// <summary>The broker's answer when it is a success or a 304; anything else as an exception.</summary>
    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        if (!request.Options.TryGetValue(CallNoteKey, out var note))
        {
            note = new CallNote();
            request.Options.Set(CallNoteKey, note);
        }

        // The pipeline's timeouts govern a call; this bounds what they cannot see, the reading of an answer's body after
        // its headers, and lies past them by one attempt. Per call, so that it stretches by the call's own wait: the
        // HttpClient's timeout, one for every call, is off (AddBrokerClient), and a bound from this app's
        // Limits:MaxWaitTimeSeconds would cut short a long poll a broker with a higher limit allows.
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (options?.Value is { } client)
        {
            var wait = request.Options.TryGetValue(WaitTimeKey, out var asked) ? asked : TimeSpan.Zero;
            bounded.CancelAfter(client.TotalTimeout + wait + client.AttemptTimeout);
        }

        // Taken before the send, which resolves a relative path against the base, and which a redirect followed changes.
        var target = request.RequestUri is { IsAbsoluteUri: false } relative && http.BaseAddress is { } baseAddress
            ? new Uri(baseAddress, relative)
            : request.RequestUri;
        try
        {
            response = await http.SendAsync(request, bounded.Token);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is HttpRequestException or TimeoutRejectedException or TaskCanceledException)
        {
            throw new BrokerUnavailableException($"The broker at {http.BaseAddress} did not answer: {Describe(ex)}.", ex)
            {
                AnswerMayBeLost = ChangesSomething(request)
                    && (note.AnswerMayBeLost || ex is TaskCanceledException || BrokerClientServiceCollectionExtensions.MayHaveBeenHandled(ex)),
            };
        }

        if (response.RequestMessage?.RequestUri is { } answered && target is not null && answered != target)
        {
            // An HttpClient of the caller's own that follows redirects (AddBrokerClient's follows none) went elsewhere.
            // What was asked may have reached that server, but its answer is no broker's.
            response.Dispose();
            throw new BrokerAnswerNotRecognizedException(
                $"The server at {http.BaseAddress} did not answer like a WonderQ broker: it redirected the request to {answered}, "
                    + "and no broker redirects. Check Broker:Url.");
        }

        if (response.IsSuccessStatusCode || response.StatusCode == HttpStatusCode.NotModified)
        {
            refusals?.Accepted(http.BaseAddress);
            retries?.Answered(http.BaseAddress);
            return response;
        }

        using (response)
        {
            var refused = await ToExceptionAsync(http.BaseAddress, http.DefaultRequestHeaders.Authorization is not null, response, cancellationToken);
            if (refused is BrokerRefusedAppException app)
            {
                refusals?.Refused(app);
            }
            else if (refused is BrokerUnavailableException unavailable)
            {
                // A 5xx: the broker may have failed after its commit, or a proxy lost its answer, unless the broker says
                // it kept nothing.
                unavailable.AnswerMayBeLost = ChangesSomething(request) && (unavailable.AnswerMayBeLost || note.AnswerMayBeLost);
            }

            throw refused;
        }
    }

    /// <summary>
    /// A create, a send or a delete: a lost answer of a read (a list, a peek, a find, a consume, whose claim a lost answer
    /// leaves to run out) left nothing that repeating it would do twice, and its caller is told nothing of the kind.
    /// </summary>
    private static bool ChangesSomething(HttpRequestMessage request) => request.Method != HttpMethod.Get;

    /// <summary>What an attempt the client retries met, as its log says it: "did not answer: …" or "answered 503".</summary>
    internal static string Describe(Outcome<HttpResponseMessage> outcome) =>
        outcome.Exception is { } ex ? $"did not answer: {Describe(ex)}" : $"answered {(int)outcome.Result!.StatusCode}";

    private static string Describe(Exception ex) => ex switch
    {
        TimeoutRejectedException or TaskCanceledException => "it timed out",
        // One cause for one outage: a broker killed mid-request closes some connections and resets others, while new
        // ones are refused, and a cause said anew for each of those flipped the outage's one warning into many.
        HttpRequestException http when http.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.ResponseEnded || WasReset(http)
            => "the connection was refused, reset or closed",
        HttpRequestException { HttpRequestError: not HttpRequestError.Unknown } http => $"the request failed ({http.HttpRequestError})",
        _ => "the request failed",
    };

    /// <summary>
    /// A connection reset once the request was under way (a broker killed mid-request, a proxy dropping it), which
    /// HttpClient calls <see cref="HttpRequestError.Unknown"/> and explains only in its inner <see cref="SocketException"/>:
    /// "the request failed (Unknown)" told the reader nothing.
    /// </summary>
    private static bool WasReset(Exception ex)
    {
        for (var inner = ex.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException { SocketErrorCode: SocketError.ConnectionReset or SocketError.ConnectionAborted })
            {
                return true;
            }
        }

        return false;
    }

    private static async Task<BrokerException> ToExceptionAsync(Uri? brokerUrl, bool keySent, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = response.StatusCode;
        var mediaType = response.Content.Headers.ContentType?.MediaType;
        if ((int)status is >= 300 and < 400)
        {
            // No broker redirects (nor answers a 304 but to a peek's If-None-Match, which is a success): whatever is at
            // Broker:Url sends this app elsewhere, and the client follows no redirect, so that no message goes there.
            return new BrokerAnswerNotRecognizedException(
                $"The server at {brokerUrl} did not answer like a WonderQ broker: it answered {(int)status}, a redirect"
                    + $"{(response.Headers.Location is { } location ? $" to {location}" : "")}, which no broker answers. Check Broker:Url.");
        }

        if ((int)status < 500 && status is not (HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests)
            && !string.Equals(mediaType, ProblemJson, StringComparison.OrdinalIgnoreCase))
        {
            // The broker answers every refusal as problem+json, so this 4xx is another server's (python's http.server,
            // a web app on the wrong port): passed on, its 404 would read as "no such queue" and its 401 as a wrong
            // key. 5xx stay below: a proxy's HTML 502 or 503 in front of a broker that is down is still an outage, and
            // so are a proxy's or rate limiter's 408 and 429, which callers back off from and try again.
            return new BrokerAnswerNotRecognizedException(
                $"The server at {brokerUrl} did not answer like a WonderQ broker: it answered {(int)status} with "
                    + $"{(mediaType is null ? "no content type" : $"'{mediaType}'")}, not {ProblemJson}. Check Broker:Url.");
        }

        HttpValidationProblemDetails? problem = null;
        try
        {
            problem = await response.Content.ReadFromJsonAsync<HttpValidationProblemDetails>(WonderQJson.Options, cancellationToken);
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or NotSupportedException or InvalidOperationException)
        {
            // Not problem+json (a proxy's error page, say): the status alone has to do.
        }

        // A WonderQ app that is not the broker (the UserApp or the DevTool at a mistyped Broker:Url) answers problem+json
        // too, but no broker answers a call of this client's with "no such endpoint", "not this method" or "not the
        // broker" (NotTheBroker): that 404 is no "no such queue", and none is for the caller to act on.
        if (status is HttpStatusCode.MethodNotAllowed or HttpStatusCode.MisdirectedRequest
            || (status == HttpStatusCode.NotFound && problem?.Detail?.StartsWith(StatusDetails.NoEndpointPrefix, StringComparison.Ordinal) == true))
        {
            // Its trace_id is another app's, and no broker's log has it.
            return new BrokerAnswerNotRecognizedException(
                $"The server at {brokerUrl} did not answer like a WonderQ broker: it answered {(int)status}, \"{problem?.Detail}\" Check Broker:Url.");
        }

        // The broker refused this app, not what its caller asked: the name in Broker:Url, or this app's key. Passed on
        // as they are, the caller would read its own request as wrong, and the broker's setting as one it can change.
        if (status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            return Traced(new BrokerRefusedAppException(status, keySent
                ? $"The broker at {brokerUrl} does not take this app's key ({(int)status}): set Broker:ApiKey to one of the broker's Auth:ApiKeys."
                : $"The broker at {brokerUrl} requires an API key ({(int)status}) and this app sends none: set Broker:ApiKey to one of the broker's Auth:ApiKeys."));
        }

        if (status == HttpStatusCode.BadRequest && problem?.Detail?.StartsWith(AllowedHostNames.RefusalPrefix, StringComparison.Ordinal) == true)
        {
            return Traced(new BrokerRefusedAppException(status,
                $"The broker at {brokerUrl} does not answer the name {brokerUrl?.Host} that this app calls it by ({(int)status}): set Broker:Url to a "
                    + $"name in the broker's {AllowedHostNames.Key}, or add {brokerUrl?.Host} to the broker's {AllowedHostNames.Key}."));
        }

        var title = problem?.Title ?? response.ReasonPhrase ?? status.ToString();
        return Traced((int)status >= 500
            ? new BrokerUnavailableException(problem?.Detail ?? $"The broker answered {(int)status} {title}.", answeredWith: status)
            {
                AnswerMayBeLost = !(status == HttpStatusCode.ServiceUnavailable
                    && problem?.Extensions.TryGetValue(Problems.CommittedMember, out var committed) == true
                    && committed is System.Text.Json.JsonElement { ValueKind: System.Text.Json.JsonValueKind.False }),
            }
            : new BrokerException(status, title, problem?.Detail, problem?.Errors));

        BrokerException Traced(BrokerException exception)
        {
            exception.TraceId = problem?.Extensions.TryGetValue(TraceIdMember, out var id) == true
                && id is System.Text.Json.JsonElement { ValueKind: System.Text.Json.JsonValueKind.String } text
                    ? text.GetString()
                    : null;
            return exception;
        }
    }
}

/// <summary>
/// What the resilience pipeline learned of a call's attempts. One object, shared by reference: each retry sends a copy
/// of the request, whose options are copied from the first.
/// </summary>
internal sealed class CallNote
{
    private volatile bool _answerMayBeLost;

    /// <summary>An attempt was retried after a failure that may have come after the broker had done the work.</summary>
    public bool AnswerMayBeLost
    {
        get => _answerMayBeLost;
        set => _answerMayBeLost = value;
    }

    /// <summary>Each attempt the broker gets does the work again (a send stores another copy): tried once more at most after a lost answer.</summary>
    public bool RepeatStoresAgain { get; init; }
}
