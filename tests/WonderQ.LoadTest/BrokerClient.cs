using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using WonderQ.LoadTest.Wire;
using WonderQ.Shared.Contracts;
using WonderQ.Shared.Json;

namespace WonderQ.LoadTest;

/// <summary>
/// The few broker calls a load test makes, timed and counted. The hot ones (send, consume, delete) go over
/// <see cref="WirePool"/>, a minimal HTTP/1.1 client that takes far less CPU per request than HttpClient (the tool
/// shares the broker's cores; README, "Transport"); the setup calls (queues, counts, health) over an
/// <see cref="HttpClient"/>.
/// </summary>
internal sealed class BrokerClient : IDisposable
{
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? _json;

    [ThreadStatic]
    private static Utf8JsonWriter? _jsonWriter;

    private readonly HttpClient _http;
    private readonly WirePool _wire;
    private readonly byte[] _sendHead;
    private readonly byte[] _consumeHead;
    private readonly byte[] _deleteHead;
    private readonly byte[] _requestEnd;

    public BrokerClient(Uri baseUrl, int maxConnections)
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
        };
        // Long polls run up to 20 s; every call carries its own cancellation instead of a client-wide timeout.
        _http = new HttpClient(handler) { BaseAddress = baseUrl, Timeout = Timeout.InfiniteTimeSpan };

        _wire = new WirePool(baseUrl, maxConnections);
        var host = Encoding.ASCII.GetString(_wire.HostHeader);
        var path = Encoding.ASCII.GetString(_wire.BasePath);
        _sendHead = Encoding.ASCII.GetBytes(
            $"POST {path}messages HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: ");
        _consumeHead = Encoding.ASCII.GetBytes($"GET {path}messages/consume?queue_id=");
        _deleteHead = Encoding.ASCII.GetBytes($"DELETE {path}messages/");
        _requestEnd = Encoding.ASCII.GetBytes($" HTTP/1.1\r\nHost: {host}\r\n\r\n");
    }

    private int _consumesInFlight;

    public Errors Errors { get; } = new();

    /// <summary>Consume requests sent (or being sent) and not yet answered.</summary>
    public int ConsumesInFlight => Volatile.Read(ref _consumesInFlight);

    public async Task<QueueDto> CreateQueueAsync(string name, CancellationToken ct)
    {
        using var response = await _http.PostAsJsonAsync("queues", new CreateQueueRequest(name), WonderQJson.Options, ct);
        if (response.StatusCode == HttpStatusCode.Conflict)
        {
            return await FindQueueAsync(name, ct);
        }

        await EnsureAsync(response, "POST /queues", ct);
        return (await response.Content.ReadFromJsonAsync<QueueDto>(WonderQJson.Options, ct))!;
    }

    public async Task<QueueDto> FindQueueAsync(string name, CancellationToken ct)
    {
        using var response = await _http.GetAsync($"queues/find?name={Uri.EscapeDataString(name)}", ct);
        await EnsureAsync(response, "GET /queues/find", ct);
        return (await response.Content.ReadFromJsonAsync<QueueDto>(WonderQJson.Options, ct))!;
    }

    public async Task<QueueCounts?> CountsAsync(long queueId, CancellationToken ct)
    {
        using var response = await _http.GetAsync("queues", ct);
        await EnsureAsync(response, "GET /queues", ct);
        var all = await response.Content.ReadFromJsonAsync<QueueCounts[]>(WonderQJson.Options, ct);
        return all?.FirstOrDefault(q => q.Id == queueId);
    }

    public async Task DeleteQueueAsync(long queueId, CancellationToken ct)
    {
        using var response = await _http.DeleteAsync($"queues/{queueId.ToString(CultureInfo.InvariantCulture)}", ct);
        await EnsureAsync(response, "DELETE /queues", ct);
    }

    public async Task<bool> HealthyAsync(CancellationToken ct)
    {
        using var response = await _http.GetAsync("healthz", ct);
        return response.IsSuccessStatusCode;
    }

    /// <summary>
    /// GET /healthz on the hot path's own connections (opens one when none is idle): what <c>burst --warm</c> uses so
    /// that the burst finds its connections open. Throws <see cref="HttpRequestException"/> when it fails.
    /// </summary>
    public async Task<bool> WarmUpAsync(CancellationToken ct)
    {
        var connection = await _wire.RentAsync(ct);
        try
        {
            connection.Request.Append("GET "u8).Append(_wire.BasePath).Append("healthz"u8).Append(_requestEnd);
            await connection.ExchangeAsync(ct);
            return connection.Status is >= 200 and < 300;
        }
        finally
        {
            _wire.Return(connection);
        }
    }

    /// <summary>POST /messages; the new id, or null when it did not answer 201 (the error is counted).</summary>
    public async Task<long?> SendAsync(long queueId, string body, Recorder latency, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        WireConnection? connection = null;
        try
        {
            connection = await _wire.RentAsync(ct);
            WriteSend(connection.Request, queueId, body);
            await connection.ExchangeAsync(ct);
            if (connection.Status != (int)HttpStatusCode.Created)
            {
                Errors.Add("POST /messages", (HttpStatusCode)connection.Status);
                return null;
            }

            var sent = JsonSerializer.Deserialize<SendMessageResponse>(connection.Body, WonderQJson.Options);
            latency.Add(started);
            return sent!.Id;
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            Errors.Add("POST /messages", ex);
            return null;
        }
        finally
        {
            if (connection is not null)
            {
                _wire.Return(connection);
            }
        }
    }

    /// <summary>GET /messages/consume; null when it failed (counted) or was cancelled by the end of the run.</summary>
    public async Task<MessageDto[]?> ConsumeAsync(
        long queueId, int size, int waitTime, int visibilityTimeout, Recorder? latency, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        Interlocked.Increment(ref _consumesInFlight);
        WireConnection? connection = null;
        try
        {
            connection = await _wire.RentAsync(ct);
            connection.Request.Append(_consumeHead).Append(queueId)
                .Append("&size="u8).Append(size)
                .Append("&wait_time="u8).Append(waitTime)
                .Append("&visibility_timeout="u8).Append(visibilityTimeout)
                .Append(_requestEnd);
            await connection.ExchangeAsync(ct);
            if (connection.Status != (int)HttpStatusCode.OK)
            {
                Errors.Add("GET /messages/consume", (HttpStatusCode)connection.Status);
                return null;
            }

            var messages = JsonSerializer.Deserialize<MessageDto[]>(connection.Body, WonderQJson.Options);
            latency?.Add(started);
            return messages;
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            Errors.Add("GET /messages/consume", ex);
            return null;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        finally
        {
            if (connection is not null)
            {
                _wire.Return(connection);
            }

            Interlocked.Decrement(ref _consumesInFlight);
        }
    }

    /// <summary>DELETE /messages/{id} with the reservation token; true on 200.</summary>
    public async Task<bool> DeleteAsync(MessageDto message, Recorder latency, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        WireConnection? connection = null;
        try
        {
            connection = await _wire.RentAsync(ct);
            connection.Request.Append(_deleteHead).Append(message.Id)
                .Append("?reservation_token="u8).AppendAscii(Uri.EscapeDataString(message.ReservationToken ?? ""))
                .Append(_requestEnd);
            await connection.ExchangeAsync(ct);
            if (connection.Status != (int)HttpStatusCode.OK)
            {
                Errors.Add("DELETE /messages", (HttpStatusCode)connection.Status);
                return false;
            }

            latency.Add(started);
            return true;
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            Errors.Add("DELETE /messages", ex);
            return false;
        }
        finally
        {
            if (connection is not null)
            {
                _wire.Return(connection);
            }
        }
    }

    public void Dispose()
    {
        _wire.Dispose();
        _http.Dispose();
    }

    /// <summary>
    /// POST /messages with <c>{"queue_id":N,"body":"..."}</c>: the JSON goes to a per-thread scratch buffer first (no
    /// await in between, so no other request can share it), then after its Content-Length into the request.
    /// </summary>
    private void WriteSend(ArrayBufferWriter<byte> request, long queueId, string body)
    {
        var json = _json ??= new ArrayBufferWriter<byte>(2048);
        json.ResetWrittenCount();
        var writer = _jsonWriter ??= new Utf8JsonWriter(json);
        writer.Reset(json);
        writer.WriteStartObject();
        writer.WriteNumber("queue_id"u8, queueId);
        writer.WriteString("body"u8, body);
        writer.WriteEndObject();
        writer.Flush();
        request.Append(_sendHead).Append(json.WrittenCount).Append("\r\n\r\n"u8).Append(json.WrittenSpan);
    }


    private static async Task EnsureAsync(HttpResponseMessage response, string what, CancellationToken ct)
    {
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(ct);
            throw new SetupException($"{what} answered {(int)response.StatusCode}: {body}");
        }
    }
}

/// <summary>A failure to set the run up (the queue, the broker): reported, exit code 2.</summary>
internal sealed class SetupException(string message) : Exception(message);
