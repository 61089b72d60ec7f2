using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using WonderQ.Shared.Contracts;
using WonderQ.Shared.Json;

namespace WonderQ.LoadTest;

/// <summary>The few broker calls a load test makes, on one pooled <see cref="HttpClient"/>, timed and counted.</summary>
internal sealed class BrokerClient : IDisposable
{
    private static readonly MediaTypeHeaderValue _jsonType = new("application/json");
    private readonly HttpClient _http;

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

    /// <summary>POST /messages; the new id, or null when it did not answer 201 (the error is counted).</summary>
    public async Task<long?> SendAsync(long queueId, string body, Recorder latency, CancellationToken ct)
    {
        var payload = JsonSerializer.SerializeToUtf8Bytes(new SendMessageRequest(queueId, null, body), WonderQJson.Options);
        using var content = new ByteArrayContent(payload);
        content.Headers.ContentType = _jsonType;
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var response = await _http.PostAsync("messages", content, ct);
            if (response.StatusCode != HttpStatusCode.Created)
            {
                Errors.Add("POST /messages", response.StatusCode);
                return null;
            }

            var sent = await response.Content.ReadFromJsonAsync<SendMessageResponse>(WonderQJson.Options, ct);
            latency.Add(started);
            return sent!.Id;
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            Errors.Add("POST /messages", ex);
            return null;
        }
    }

    /// <summary>GET /messages/consume; null when it failed (counted) or was cancelled by the end of the run.</summary>
    public async Task<MessageDto[]?> ConsumeAsync(
        long queueId, int size, int waitTime, int visibilityTimeout, Recorder? latency, CancellationToken ct)
    {
        var uri = string.Create(
            CultureInfo.InvariantCulture,
            $"messages/consume?queue_id={queueId}&size={size}&wait_time={waitTime}&visibility_timeout={visibilityTimeout}");
        var started = Stopwatch.GetTimestamp();
        Interlocked.Increment(ref _consumesInFlight);
        try
        {
            using var response = await _http.GetAsync(uri, HttpCompletionOption.ResponseContentRead, ct);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                Errors.Add("GET /messages/consume", response.StatusCode);
                return null;
            }

            var messages = await response.Content.ReadFromJsonAsync<MessageDto[]>(WonderQJson.Options, ct);
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
            Interlocked.Decrement(ref _consumesInFlight);
        }
    }

    /// <summary>DELETE /messages/{id} with the reservation token; true on 200.</summary>
    public async Task<bool> DeleteAsync(MessageDto message, Recorder latency, CancellationToken ct)
    {
        var uri = string.Create(
            CultureInfo.InvariantCulture,
            $"messages/{message.Id}?reservation_token={Uri.EscapeDataString(message.ReservationToken ?? "")}");
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var response = await _http.DeleteAsync(uri, ct);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                Errors.Add("DELETE /messages", response.StatusCode);
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
    }

    public void Dispose() => _http.Dispose();

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
