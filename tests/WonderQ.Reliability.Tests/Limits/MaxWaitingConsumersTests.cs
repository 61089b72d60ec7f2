using System.Net;
using System.Net.Http.Json;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using WonderQ.Broker.Messages;
using WonderQ.Reliability.Tests.Support;
using WonderQ.Shared.Contracts;
using WonderQ.Shared.Json;

namespace WonderQ.Reliability.Tests.Limits;

/// <summary>The broker with room for two waiting consumers only.</summary>
public sealed class TwoWaiterBroker() : BrokerFactory([new("Limits:MaxWaitingConsumers", "2")]);

/// <summary>Idle long polls cannot pile up without bound: past Limits:MaxWaitingConsumers a consume that would wait is a 503.</summary>
public sealed class MaxWaitingConsumersTests(TwoWaiterBroker broker) : IClassFixture<TwoWaiterBroker>
{
    [Fact]
    public async Task Consumer_past_the_waiting_cap_gets_a_503_with_retry_after_and_consuming_works_again_afterwards()
    {
        // Arrange: two consumers parked on an empty queue fill the cap.
        using var client = broker.CreateClient();
        client.Timeout = TimeSpan.FromSeconds(60);
        var queue = Json.UniqueQueueName("cap");
        await client.CreateQueueAsync(queue);
        var waiters = broker.Services.GetRequiredService<WaitingConsumers>();
        var url = $"/messages/consume?queue_name={queue}&size=1&wait_time=20&visibility_timeout=30";
        var first = client.GetAsync(url);
        var second = client.GetAsync(url);
        await Eventually.ValueAsync(() => waiters.Count, count => count == 2, "two consumers are parked", TimeSpan.FromSeconds(30));
        waiters.Count.Should().Be(2, "both consumers should be parked by now");

        // Act
        using var third = await client.GetAsync(url);

        // Assert: refused at once, as a problem the client can act on.
        third.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        Problems.ShouldBeProblemBody(third, await third.Content.ReadAsStringAsync(), "the third consumer");
        third.Headers.RetryAfter.Should().NotBeNull();
        third.Headers.RetryAfter!.Delta.Should().BePositive("a 503 tells the caller when to try again");

        // Two messages release the two waiters, each with one message.
        var sent = new[] { await client.SendAsync(queue, "for the first"), await client.SendAsync(queue, "for the second") };
        using var firstResponse = await first;
        using var secondResponse = await second;
        var received = (await firstResponse.Content.ReadFromJsonAsync<List<MessageDto>>(WonderQJson.Options))!
            .Concat((await secondResponse.Content.ReadFromJsonAsync<List<MessageDto>>(WonderQJson.Options))!)
            .Select(m => m.Id);
        received.Should().BeEquivalentTo(sent);

        // With the waiters gone, a consume may wait again and is answered normally.
        await Eventually.ValueAsync(() => waiters.Count, count => count == 0, "the parked consumers have left", TimeSpan.FromSeconds(30));
        using var again = await client.GetAsync($"/messages/consume?queue_name={queue}&wait_time=1");
        again.StatusCode.Should().Be(HttpStatusCode.OK);
        await client.ShouldStillServeAsync();
    }
}
