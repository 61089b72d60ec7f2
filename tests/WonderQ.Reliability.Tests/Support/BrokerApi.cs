using System.Net;
using System.Net.Http.Json;
using FluentAssertions;
using WonderQ.Shared.Contracts;
using WonderQ.Shared.Json;

namespace WonderQ.Reliability.Tests.Support;

/// <summary>The few well-formed calls the tests make around the hostile ones, without the typed client's retries.</summary>
public static class BrokerApi
{
    public static async Task<QueueDto> CreateQueueAsync(this HttpClient client, string name)
    {
        using var response = await client.PostAsJsonAsync("/queues", new { name }, WonderQJson.Options);
        response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<QueueDto>(WonderQJson.Options))!;
    }

    public static async Task<long> SendAsync(this HttpClient client, string queueName, string body)
    {
        using var response = await client.PostAsJsonAsync("/messages", new { queue_name = queueName, body }, WonderQJson.Options);
        response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<SendMessageResponse>(WonderQJson.Options))!.Id;
    }

    public static async Task<IReadOnlyList<MessageDto>> ConsumeAsync(this HttpClient client, string queueName, int size = 10, int waitTime = 0, int visibilityTimeout = 30)
    {
        using var response = await client.GetAsync(
            $"/messages/consume?queue_name={queueName}&size={size}&wait_time={waitTime}&visibility_timeout={visibilityTimeout}");
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<List<MessageDto>>(WonderQJson.Options))!;
    }

    public static async Task DeleteAsync(this HttpClient client, MessageDto message)
    {
        using var response = await client.DeleteAsync($"/messages/{message.Id}?reservation_token={Uri.EscapeDataString(message.ReservationToken!)}");
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The broker still does its job: a fresh queue takes a message and hands exactly it back.</summary>
    public static async Task ShouldStillServeAsync(this HttpClient client)
    {
        var queue = Json.UniqueQueueName("alive");
        await client.CreateQueueAsync(queue);
        var body = $"still serving {Guid.NewGuid()}";
        var id = await client.SendAsync(queue, body);

        var messages = await client.ConsumeAsync(queue, size: 10, waitTime: 5);

        messages.Should().ContainSingle().Which.Should().Match<MessageDto>(m => m.Id == id && m.Body == body);
        await client.DeleteAsync(messages[0]);
    }
}
