using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using WonderQ.LoadTest.Wire;
using WonderQ.Shared.Contracts;
using WonderQ.Shared.Json;

namespace WonderQ.LoadTest;

/// <summary>
/// The few broker calls a load test makes, timed and counted. The hot ones (send, consume, delete) go over
/// <see cref="WirePool"/>, a minimal HTTP/1.1 client that takes far less CPU per request than HttpClient (the tool
/// shares the broker's cores; README, "Transport"), or with <c>--http2</c> over <see cref="H2Pool"/>, as lean an
/// HTTP/2 client for an h2c port; the setup calls (the queue, its counts) over an <see cref="HttpClient"/>.
/// </summary>
internal sealed class BrokerClient : IDisposable
{
    [ThreadStatic]
    private static RequestParts? _parts;

    private readonly HttpClient _http;
    private readonly WirePool _wire;
    private readonly H2Pool? _h2;
    private readonly byte[] _host;

    /// <param name="http2Connections">0: HTTP/1.1; else this many h2c connections, 100 requests at once on each.</param>
    public BrokerClient(Uri baseUrl, int maxConnections, int http2Connections = 0)
    {
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = maxConnections,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            ConnectTimeout = TimeSpan.FromSeconds(30),
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            // Traffic goes only where --url points: a redirect would take the setup calls, the queue's DELETE among
            // them, to another server while the hot path (which follows none) stayed here.
            AllowAutoRedirect = false,
        };
        // Long polls run up to 20 s; every call carries its own cancellation instead of a client-wide timeout.
        _http = new HttpClient(handler) { BaseAddress = baseUrl, Timeout = Timeout.InfiniteTimeSpan };
        if (http2Connections > 0)
        {
            _http.DefaultRequestVersion = HttpVersion.Version20;
            _http.DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        }

        _wire = new WirePool(baseUrl, maxConnections);
        _h2 = http2Connections > 0 ? new H2Pool(_wire, http2Connections, StreamsPerConnection) : null;
        _host = _wire.HostHeader;
    }

    /// <summary>Requests at once on one HTTP/2 connection: Kestrel's default limit, which the broker keeps.</summary>
    public const int StreamsPerConnection = 100;

    private delegate T ReadBody<out T>(ReadOnlySpan<byte> body);

    private int _consumesInFlight;
    private volatile string? _setupWaiting;

    public Errors Errors { get; } = new();

    /// <summary>Hot-path connections opened so far.</summary>
    public int ConnectionsOpened => _h2?.Opened ?? _wire.Opened;

    /// <summary>The setup call (<c>POST /queues</c>, ...) waiting for its answer, if one is: what progress names meanwhile.</summary>
    public string? SetupWaiting => _setupWaiting;

    /// <summary>Consume requests sent (or being sent) and not yet answered.</summary>
    public int ConsumesInFlight => Volatile.Read(ref _consumesInFlight);

    public async Task<QueueRef> CreateQueueAsync(string name, CancellationToken ct)
    {
        // With its length, not chunked as PostAsJsonAsync sends it: the server under test may be a minimal one that reads
        // only Content-Length, as the tool's own sends do.
        using var response = await SetupCallAsync("POST /queues", () => _http.PostAsync(
            "queues",
            new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(new CreateQueueRequest(name), WonderQJson.Options))
            {
                Headers = { ContentType = new("application/json") },
            },
            ct));
        if (response.StatusCode == HttpStatusCode.Conflict)
        {
            return await FindQueueAsync(name, ct);
        }

        await EnsureAsync(response, "POST /queues", ct);
        return (await ReadAsync(response, "POST /queues", "a queue", LoadJsonContext.Default.QueueAnswer, ct)).Named(name);
    }

    public async Task<QueueRef> FindQueueAsync(string name, CancellationToken ct) =>
        await TryFindQueueAsync(name, ct) ?? throw new SetupException($"GET /queues/find answered 404: there is no queue '{name}'.");

    /// <summary>The queue named <paramref name="name"/>, or null when the server answers that it has none (404).</summary>
    public async Task<QueueRef?> TryFindQueueAsync(string name, CancellationToken ct)
    {
        using var response = await SetupCallAsync("GET /queues/find", () => _http.GetAsync($"queues/find?name={Uri.EscapeDataString(name)}", ct));
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        await EnsureAsync(response, "GET /queues/find", ct);
        return (await ReadAsync(response, "GET /queues/find", "a queue", LoadJsonContext.Default.QueueAnswer, ct)).Named(name);
    }

    /// <summary>
    /// The queue's <c>queue_size</c> from GET /queues (0 when it is not listed), or null when the server has no such
    /// endpoint (the original WonderQ serves the counts from its dev tool, not from its broker) or lists its queues
    /// without their sizes: either way the server cannot count what it holds.
    /// </summary>
    public async Task<long?> QueueSizeAsync(long queueId, CancellationToken ct) => (await QueueCountsAsync(queueId, ct))?.QueueSize;

    /// <summary>
    /// The queue's line of GET /queues (counted 0 when it is not listed), or null as for <see cref="QueueSizeAsync"/>;
    /// its <c>in_flight_size</c> is null from a server that does not give it.
    /// </summary>
    public async Task<QueueCount?> QueueCountsAsync(long queueId, CancellationToken ct)
    {
        using var response = await SetupCallAsync("GET /queues", () => _http.GetAsync("queues", ct));
        if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed)
        {
            return null;
        }

        await EnsureAsync(response, "GET /queues", ct);
        var all = await ReadAsync(response, "GET /queues", "a list of queues", LoadJsonContext.Default.QueueCountArray, ct);
        if (all.Contains(null))
        {
            // The serializer checks no array's elements: a null one crashed the tool as it looked for the run's queue.
            throw new SetupException($"GET /queues answered {(int)response.StatusCode} with a list holding null where a queue should be (is it a WonderQ broker?).");
        }

        // Without queue_size a size read as 0 called every message still queued lost.
        return all.FirstOrDefault(q => q.Id == queueId) is { } listed
            ? listed.QueueSize is null ? null : listed
            : new QueueCount(queueId, 0, 0);
    }

    public async Task DeleteQueueAsync(long queueId, CancellationToken ct)
    {
        using var response = await SetupCallAsync("DELETE /queues", () => _http.DeleteAsync($"queues/{queueId.ToString(CultureInfo.InvariantCulture)}", ct));
        await EnsureAsync(response, "DELETE /queues", ct);
    }

    /// <summary>
    /// GET /healthz on the hot path's own connections (opens one when none is idle): what <c>burst --warm</c> uses so
    /// that the burst finds its connections open. Throws <see cref="HttpRequestException"/> when it fails.
    /// </summary>
    public async Task<bool> WarmUpAsync(CancellationToken ct)
    {
        var status = await ExchangeAsync(WireMethod.Get, static parts => parts.Target.Append("healthz"u8), static (status, _) => status, ct);
        return status is >= 200 and < 300;
    }

    /// <summary>
    /// POST /messages; the new id, or null when it failed (the error is counted). WonderQ answers 201; a 200 with the id
    /// counts too, as the original WonderQ answers.
    /// </summary>
    public Task<long?> SendAsync(long queueId, string body, Recorder latency, CancellationToken ct) =>
        SendAsync(queueId, json => json.WriteString("body"u8, body), latency, ct);

    /// <inheritdoc cref="SendAsync(long, string, Recorder, CancellationToken)"/>
    public Task<long?> SendAsync(long queueId, Body body, Recorder latency, CancellationToken ct) =>
        SendAsync(queueId, json => body.WriteTo(json, "body"u8), latency, ct);

    private async Task<long?> SendAsync(long queueId, Action<Utf8JsonWriter> writeBody, Recorder latency, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var (ok, id) = await CallAsync(
            "POST /messages",
            static status => status is 200 or 201,
            WireMethod.Post,
            parts =>
            {
                parts.Target.Append("messages"u8);
                WriteSendJson(parts, queueId, writeBody);
            },
            static json =>
            {
                try
                {
                    if (JsonSerializer.Deserialize(json, LoadJsonContext.Default.SentAnswer) is { } sent)
                    {
                        return sent.Id;
                    }
                }
                catch (JsonException)
                {
                }

                // An answer without its id was taken as id 0 (and a null one counted as a NullReferenceException): the
                // run then blamed the server for giving one id to several messages, not for the answer it gave.
                throw new JsonException("not an object with the message's id");
            },
            ct);
        if (!ok)
        {
            return null;
        }

        latency.Add(started);
        return id;
    }

    /// <summary>GET /messages/consume; null when it failed (counted) or was cancelled by the end of the run.</summary>
    public async Task<Received[]?> ConsumeAsync(
        long queueId, int size, int waitTime, int visibilityTimeout, Recorder? latency, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        Interlocked.Increment(ref _consumesInFlight);
        try
        {
            var (ok, messages) = await CallAsync(
                "GET /messages/consume",
                static status => status == 200,
                WireMethod.Get,
                parts => parts.Target.Append("messages/consume?queue_id="u8).Append(queueId)
                    .Append("&size="u8).Append(size)
                    .Append("&wait_time="u8).Append(waitTime)
                    .Append("&visibility_timeout="u8).Append(visibilityTimeout),
                static json =>
                {
                    Received[]? messages;
                    try
                    {
                        messages = JsonSerializer.Deserialize(json, LoadJsonContext.Default.ReceivedArray);
                    }
                    catch (JsonException)
                    {
                        messages = null;
                    }

                    // A 200 of null is no array, and the serializer checks no array's elements for null: read as an
                    // empty poll, the first went uncounted, and the second crashed the tool when the run read a message.
                    // Short enough to be counted whole: the serializer's own message names the type first.
                    return messages is not null && !messages.Contains(null)
                        ? messages
                        : throw new JsonException("not an array of messages, each with an id and a body");
                },
                ct);
            if (ok)
            {
                latency?.Add(started);
            }

            return messages;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        finally
        {
            Interlocked.Decrement(ref _consumesInFlight);
        }
    }

    /// <summary>
    /// DELETE /messages/{id} with the reservation token; 200 when deleted. A 404 or 409 (the message redelivered, or
    /// gone) comes back as it is, for the run to judge once it knows whether the message was redelivered; any other
    /// failure is counted as an error and comes back as 0.
    /// </summary>
    public async Task<int> DeleteAsync(Received message, Recorder latency, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var status = await ExchangeAsync(
                WireMethod.Delete,
                parts => parts.Target.Append("messages/"u8).Append(message.Id)
                    .Append("?reservation_token="u8).AppendAscii(Uri.EscapeDataString(message.ReservationToken ?? "")),
                static (status, _) => status,
                ct);
            switch (status)
            {
                case 200:
                    latency.Add(started);
                    return status;
                case 404 or 409:
                    return status;
                default:
                    Errors.Add(DeleteMessage, (HttpStatusCode)status);
                    return 0;
            }
        }
        catch (Exception ex)
        {
            ThrowIfTheRunEnded(ex, ct);
            Errors.Add(DeleteMessage, ex);
            return 0;
        }
    }

    public const string DeleteMessage = "DELETE /messages";

    public void Dispose()
    {
        _h2?.Dispose();
        _wire.Dispose();
        _http.Dispose();
    }

    /// <summary>
    /// One hot-path call: the answer read by <paramref name="read"/> when its status is one <paramref name="expected"/> takes;
    /// otherwise not ok, and the status or the exception is counted (once <paramref name="ct"/> is cancelled, any
    /// failure is thrown as an <see cref="OperationCanceledException"/>).
    /// </summary>
    private async Task<(bool Ok, T? Value)> CallAsync<T>(
        string what, Func<int, bool> expected, WireMethod method, Action<RequestParts> write, ReadBody<T> read, CancellationToken ct)
    {
        try
        {
            return await ExchangeAsync(
                method,
                write,
                (status, body) =>
                {
                    if (expected(status))
                    {
                        return (true, read(body));
                    }

                    Errors.Add(what, (HttpStatusCode)status);
                    return (false, default(T));
                },
                ct);
        }
        catch (Exception ex)
        {
            ThrowIfTheRunEnded(ex, ct);
            Errors.Add(what, ex);
            return (false, default);
        }
    }

    /// <summary>
    /// A failure once <paramref name="ct"/> is cancelled is the run's end, not an error: it is thrown on as an
    /// <see cref="OperationCanceledException"/>, decided by one look at the token.
    /// </summary>
    /// <remarks>
    /// A connect refused just as the run ended came out as the refusal: the connect had looked at the token before the
    /// end, the filter that counted errors after it and left it to the caller, which let only cancellations end a long
    /// poll quietly. Its consumer threw, and the run said "could not run" where it had ended with its errors.
    /// </remarks>
    private static void ThrowIfTheRunEnded(Exception ex, CancellationToken ct)
    {
        if (!ct.IsCancellationRequested)
        {
            return;
        }

        if (ex is OperationCanceledException)
        {
            ExceptionDispatchInfo.Throw(ex);
        }

        throw new OperationCanceledException("The request failed as the run ended.", ex, ct);
    }

    /// <summary>
    /// Sends the request <paramref name="write"/> describes over the run's transport and hands the answer's status and
    /// body to <paramref name="answer"/> while they are valid. The request is written on this thread, once its
    /// connection is ready, into this thread's <see cref="RequestParts"/>, so it needs no buffer of its own.
    /// </summary>
    private async Task<T> ExchangeAsync<T>(
        WireMethod method, Action<RequestParts> write, Func<int, ReadOnlySpan<byte>, T> answer, CancellationToken ct)
    {
        if (_h2 is { } h2)
        {
            var connection = await h2.ReserveAsync(ct);
            H2Stream stream;
            try
            {
                var parts = Parts();
                write(parts);
                H2Headers.WriteRequest(parts.HeaderBlock, method, parts.Target.WrittenSpan, _host, json: parts.Body.WrittenCount > 0);
                stream = connection.Start(parts.HeaderBlock.WrittenSpan, parts.Body.WrittenSpan);
            }
            catch
            {
                connection.Unreserve();
                throw;
            }

            await stream.WaitAsync(ct);
            return answer(stream.Status, stream.Body.WrittenSpan);
        }

        WireConnection? wire = null;
        try
        {
            wire = await _wire.RentAsync(ct);
            var parts = Parts();
            write(parts);
            parts.WriteHttp1(wire.Request, method, _host);
            await wire.ExchangeAsync(ct);
            return answer(wire.Status, wire.Body);
        }
        finally
        {
            if (wire is not null)
            {
                _wire.Return(wire);
            }
        }
    }

    private RequestParts Parts()
    {
        var parts = _parts ??= new RequestParts();
        parts.Reset(_wire.BasePath);
        return parts;
    }

    /// <summary>POST /messages' body, <c>{"queue_id":N,"body":"..."}</c>.</summary>
    private static void WriteSendJson(RequestParts parts, long queueId, Action<Utf8JsonWriter> writeBody)
    {
        var writer = parts.Json;
        writer.WriteStartObject();
        writer.WriteNumber("queue_id"u8, queueId);
        writeBody(writer);
        writer.WriteEndObject();
        writer.Flush();
    }

    /// <summary>A setup call, whose failure to get an answer says which call it was, as a refusal does.</summary>
    private async Task<HttpResponseMessage> SetupCallAsync(string what, Func<Task<HttpResponseMessage>> call)
    {
        _setupWaiting = what;
        try
        {
            return await call();
        }
        catch (HttpRequestException ex)
        {
            // "Connection refused" alone does not tell a script reading --json's "error" how far the run got. A server
            // that hung up gets HttpClient's "An error occurred while sending the request.", which says nothing of why:
            // the reason is the inner exception's.
            var why = ex.InnerException is { Message: var inner } && !ex.Message.Contains(inner, StringComparison.Ordinal)
                ? $"{ex.Message} {inner}"
                : ex.Message;
            if (_h2 is not null && ex.HttpRequestError is not (HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError))
            {
                // HttpClient names the frame it choked on, not that --url is no h2c port (an HTTP/1.1 one, as often). Which
                // error it reports depends on how far its handshake got when the server hung up: a protocol error, an
                // invalid response, or Unknown with "the server shut down the connection". Only a connection never made
                // has another cause, and a message of its own that says so.
                why += " --http2 speaks HTTP/2 without TLS: is --url the broker's h2c port? Leave --http2 out for an HTTP/1.1 one.";
            }

            throw new HttpRequestException($"{what}: {why}", ex, ex.StatusCode);
        }
        finally
        {
            _setupWaiting = null;
        }
    }

    private static async Task EnsureAsync(HttpResponseMessage response, string what, CancellationToken ct)
    {
        if (response.Headers.Location is { } location && (int)response.StatusCode is >= 300 and < 400)
        {
            throw new SetupException(
                $"{what} answered {(int)response.StatusCode}, a redirect to {location}: the load test sends only where --url points and follows none.");
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new SetupException($"{what} answered {(int)response.StatusCode}: {await ExcerptAsync(response, ct)}");
        }
    }

    /// <summary>A success whose body is not what a WonderQ broker answers is a server that is not one: a setup failure.</summary>
    private static async Task<T> ReadAsync<T>(
        HttpResponseMessage response, string what, string expected, JsonTypeInfo<T> type, CancellationToken ct) where T : class
    {
        try
        {
            if (await response.Content.ReadFromJsonAsync(type, ct) is { } value)
            {
                return value;
            }
        }
        catch (JsonException)
        {
        }

        throw new SetupException(
            $"{what} answered {(int)response.StatusCode} without {expected} in JSON (is it a WonderQ broker?): {await ExcerptAsync(response, ct)}");
    }

    /// <summary>The start of a body on one line: a server that is not the broker may answer with a whole page.</summary>
    private static async Task<string> ExcerptAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var body = string.Join(' ', (await response.Content.ReadAsStringAsync(ct)).Split((char[])['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return body.Length <= 200 ? body : body[..200] + "…";
    }
}

/// <summary>A failure to set the run up (the queue, the broker): reported, exit code 2.</summary>
internal sealed class SetupException(string message) : Exception(message);

/// <summary>
/// What the tool reads of a consumed message. The rest of it (times, counts) it does not need, and other
/// implementations of the API differ there: the original WonderQ's times are Unix milliseconds, not ISO strings.
/// </summary>
internal sealed record Received(long Id, string Body, string? ReservationToken = null);

/// <summary>The run's queue: its id, and its name as the server gave it or, when it gave none, as the run asked for it.</summary>
internal sealed record QueueRef(long Id, string Name);

/// <summary>
/// What the tool reads of a queue the server answers with: its id alone is needed. Its <c>created_at</c> is not read,
/// so another implementation may give it as Unix milliseconds, as the original WonderQ gives a message's times, or not at all.
/// </summary>
internal sealed record QueueAnswer(long Id, string? Name = null)
{
    public QueueRef Named(string asked) => new(Id, Name ?? asked);
}

/// <summary>What a send is answered with.</summary>
internal sealed record SentAnswer(long Id);

/// <summary>A queue of <c>GET /queues</c>; without its <c>queue_size</c> the server cannot say what it holds.</summary>
internal sealed record QueueCount(long Id, long? QueueSize = null, long? InFlightSize = null);

// A message without its id or body is a malformed answer, counted as the consume's error, not a null to crash on.
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(Received[]))]
[JsonSerializable(typeof(QueueAnswer))]
[JsonSerializable(typeof(SentAnswer))]
[JsonSerializable(typeof(QueueCount[]))]
internal sealed partial class LoadJsonContext : JsonSerializerContext;
