using System.Diagnostics;
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
        var (client, queue, url) = await EmptyQueueAsync("cap");
        using var _ = client;
        var first = client.GetAsync(url);
        var second = client.GetAsync(url);
        await WaitForAsync(() => Waiters.Count == 2, TimeSpan.FromSeconds(30));
        Waiters.Count.Should().Be(2, "both consumers should be parked by now");

        // Act
        using var third = await client.GetAsync(url);

        // Assert: refused at once, as a problem the client can act on.
        third.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        Problems.ShouldBeProblemBody(third, await third.Content.ReadAsStringAsync(), "the third consumer");
        third.Headers.RetryAfter.Should().NotBeNull();

        // Two messages release the two waiters, each with one message.
        var sent = new[] { await client.SendAsync(queue, "for the first"), await client.SendAsync(queue, "for the second") };
        using var firstResponse = await first;
        using var secondResponse = await second;
        var received = (await firstResponse.Content.ReadFromJsonAsync<List<MessageDto>>(WonderQJson.Options))!
            .Concat((await secondResponse.Content.ReadFromJsonAsync<List<MessageDto>>(WonderQJson.Options))!)
            .Select(m => m.Id);
        received.Should().BeEquivalentTo(sent);

        // With the waiters gone, a consume may wait again and is answered normally.
        await WaitForAsync(() => Waiters.Count == 0, TimeSpan.FromSeconds(30));
        using var again = await client.GetAsync($"/messages/consume?queue_name={queue}&wait_time=1");
        again.StatusCode.Should().Be(HttpStatusCode.OK);
        await client.ShouldStillServeAsync();
    }

    [Fact]
    public async Task Consumers_arriving_at_once_never_hold_more_waiting_places_than_the_cap()
    {
        // Arrange: many consumers ask to wait on one empty queue in the same instant, so that they pass the
        // broker's check together; a check made apart from taking the place lets more than two through.
        var (client, queue, url) = await EmptyQueueAsync("cap-race");
        using var _ = client;
        const int consumers = 64;
        using var start = new ManualResetEventSlim();
        var consumes = Enumerable.Range(0, consumers)
            .Select(_ => Task.Run(() => { start.Wait(); return client.GetAsync(url); }))
            .ToList();

        // Act
        start.Set();
        await WaitForAsync(() => consumes.Count(c => c.IsCompleted) >= consumers - 2, TimeSpan.FromSeconds(30));
        var peakParked = Waiters.Count;

        // Assert: two wait, every other one is refused at once.
        var refused = consumes.Where(c => c.IsCompleted).Select(c => c.Result).ToList();
        refused.Should().HaveCount(consumers - 2, "only two consumers may be left waiting");
        refused.Should().OnlyContain(r => r.StatusCode == HttpStatusCode.ServiceUnavailable);
        peakParked.Should().Be(2);

        // Two messages release the two that wait, one each.
        await client.SendAsync(queue, "one");
        await client.SendAsync(queue, "two");
        var responses = await Task.WhenAll(consumes);
        responses.Count(r => r.StatusCode == HttpStatusCode.OK).Should().Be(2);
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    private WaitingConsumers Waiters => broker.Services.GetRequiredService<WaitingConsumers>();

    /// <summary>A client that outlasts a long poll, a new empty queue, and the URL of a consume that would wait on it.</summary>
    private async Task<(HttpClient Client, string Queue, string ConsumeUrl)> EmptyQueueAsync(string prefix)
    {
        var client = broker.CreateClient();
        client.Timeout = TimeSpan.FromSeconds(60);
        var queue = Json.UniqueQueueName(prefix);
        await client.CreateQueueAsync(queue);
        return (client, queue, $"/messages/consume?queue_name={queue}&size=1&wait_time=20&visibility_timeout=30");
    }

    private static async Task WaitForAsync(Func<bool> condition, TimeSpan deadline)
    {
        var stopwatch = Stopwatch.StartNew();
        while (!condition() && stopwatch.Elapsed < deadline)
        {
            await Task.Delay(20);
        }
    }
}
