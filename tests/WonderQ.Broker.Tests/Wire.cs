using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using WonderQ.Shared.Contracts;
using WonderQ.Shared.Json;

namespace WonderQ.Broker.Tests;

/// <summary>The broker API as the tests call it: plain HTTP, the shared JSON conventions, and checks of the happy path.</summary>
public static class Wire
{
    /// <summary>A queue name no other test uses.</summary>
    public static string UniqueQueueName(string prefix = "q") => $"{prefix}-{Guid.NewGuid():N}";

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public static StringContent Json(object value) => Json(JsonSerializer.Serialize(value, WonderQJson.Options));

    public static async Task<T> ReadAsync<T>(this HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<T>(WonderQJson.Options))!;

    public static async Task<JsonElement> ReadJsonAsync(this HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();

    public static async Task<QueueDto> CreateQueueAsync(this HttpClient client, string? name = null)
    {
        using var response = await client.PostAsync("/queues", Json(new CreateQueueRequest(name ?? UniqueQueueName())));
        response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return await response.ReadAsync<QueueDto>();
    }

    public static async Task<long> SendAsync(this HttpClient client, long queueId, string body)
    {
        using var response = await client.PostAsync("/messages", Json(new SendMessageRequest(queueId, null, body)));
        response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.ReadAsync<SendMessageResponse>()).Id;
    }

    public static Task<HttpResponseMessage> ConsumeResponseAsync(
        this HttpClient client, long queueId, int size = 1, int waitTime = 0, int visibilityTimeout = 30, CancellationToken cancellationToken = default) =>
        client.GetAsync(
            $"/messages/consume?queue_id={queueId}&size={size}&wait_time={waitTime}&visibility_timeout={visibilityTimeout}",
            cancellationToken);

    public static async Task<MessageDto[]> ConsumeAsync(
        this HttpClient client, long queueId, int size = 1, int waitTime = 0, int visibilityTimeout = 30, CancellationToken cancellationToken = default)
    {
        using var response = await client.ConsumeResponseAsync(queueId, size, waitTime, visibilityTimeout, cancellationToken);
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync(cancellationToken));
        return await response.ReadAsync<MessageDto[]>();
    }

    public static Task<HttpResponseMessage> DeleteMessageAsync(this HttpClient client, long id, string? reservationToken = null) =>
        client.DeleteAsync(reservationToken is null
            ? $"/messages/{id}"
            : $"/messages/{id}?reservation_token={Uri.EscapeDataString(reservationToken)}");

    public static async Task<MessageDto[]> PeekAsync(this HttpClient client, long queueId, int size = 10)
    {
        using var response = await client.GetAsync($"/queues/{queueId}/messages?size={size}");
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return await response.ReadAsync<MessageDto[]>();
    }

    public static async Task<QueueCounts> CountsAsync(this HttpClient client, long queueId)
    {
        using var response = await client.GetAsync("/queues");
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var queues = await response.ReadAsync<QueueCounts[]>();
        return queues.Should().ContainSingle(q => q.Id == queueId).Subject;
    }

    /// <summary>Checks an error answer is RFC 9457 problem+json with the given status, a title and a detail; returns its body.</summary>
    public static async Task<JsonElement> ShouldBeProblemAsync(this HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(status, text);
        response.Content.Headers.ContentType?.MediaType.Should().Be("application/problem+json");
        var problem = JsonDocument.Parse(text).RootElement.Clone();
        problem.GetProperty("status").GetInt32().Should().Be((int)status);
        problem.GetProperty("title").GetString().Should().NotBeNullOrWhiteSpace();
        problem.GetProperty("detail").GetString().Should().NotBeNullOrWhiteSpace();
        text.Should().NotContain("   at ", "no answer carries a stack trace");
        return problem;
    }

    /// <summary>The messages of one validation error field, keyed by its wire name.</summary>
    public static string[] ErrorsFor(this JsonElement problem, string field) =>
        problem.GetProperty("errors").GetProperty(field).EnumerateArray().Select(e => e.GetString()!).ToArray();

    public static string[] PropertyNames(this JsonElement element) =>
        element.EnumerateObject().Select(p => p.Name).ToArray();
}
