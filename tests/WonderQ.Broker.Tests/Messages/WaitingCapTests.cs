using System.Net;
using WonderQ.Broker.Storage;

namespace WonderQ.Broker.Tests.Messages;

/// <summary>
/// Limits:MaxWaitingConsumers counts every consumer from the moment it is let wait until it is answered, not only
/// those parked right now: a consumer taken for a claim in a publish's commit, or woken to claim, has left the parked
/// list but still waits for its answer.
/// </summary>
public sealed class WaitingCapTests() : FreshBroker(new BrokerApplication(settings: new Dictionary<string, string> { ["Limits:MaxWaitingConsumers"] = "1" }))
{
    [Fact]
    public async Task A_consumer_taken_for_a_claim_keeps_its_place_under_the_cap_until_it_is_answered()
    {
        // Arrange: the one place is taken by a consumer asleep on an empty queue, which a publish's commit then takes
        // for its claim, as the commit writer does, leaving none parked.
        var queue = await Client.CreateQueueAsync();
        var first = Client.ConsumeResponseAsync(queue.Id, waitTime: 20);
        await AsleepAsync(queue.Id);
        var taken = Waiters.Take(queue.Id, 1).Should().ContainSingle().Subject;
        Waiters.Count.Should().Be(0);

        // Act
        using var second = await Client.ConsumeResponseAsync(queue.Id, waitTime: 20).WaitAsync(TimeSpan.FromSeconds(10));

        // Assert: refused at once, though nobody is parked; the first is answered when its claim is.
        await second.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable);
        taken.HandOver(Task.FromResult<ClaimResult?>(null));
        using var firstAnswer = await first.WaitAsync(TimeSpan.FromSeconds(10));
        firstAnswer.StatusCode.Should().Be(HttpStatusCode.OK);

        // With the place free again, a consumer may wait.
        var third = Client.ConsumeResponseAsync(queue.Id, waitTime: 20);
        await AsleepAsync(queue.Id);
        await Client.SendAsync(queue.Id, "for the third");
        using var thirdAnswer = await third.WaitAsync(TimeSpan.FromSeconds(10));
        thirdAnswer.StatusCode.Should().Be(HttpStatusCode.OK);
    }
}
