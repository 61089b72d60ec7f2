using System.Net;
using WonderQ.Broker.Storage;
using WonderQ.Shared.Contracts;

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

/// <summary>The cap under bursts of consumers arriving and leaving together: it must neither shrink nor grow.</summary>
public sealed class WaitingCapBurstTests() : FreshBroker(new BrokerApplication(settings: new Dictionary<string, string> { ["Limits:MaxWaitingConsumers"] = "4" }))
{
    private const int Cap = 4;

    [Fact]
    public async Task After_bursts_of_consumers_arriving_leaving_timing_out_and_being_answered_exactly_the_cap_can_wait()
    {
        var queue = await Client.CreateQueueAsync();
        for (var round = 0; round < 30; round++)
        {
            // Twice the cap at once: some are refused, and of those let in, some leave, some time out, two get a message.
            using var leave = new CancellationTokenSource();
            var polls = Enumerable.Range(0, 2 * Cap).Select(i => Task.Run(async () =>
            {
                try
                {
                    using var response = await Client.ConsumeResponseAsync(
                        queue.Id, waitTime: i % 2 == 0 ? 1 : 20, cancellationToken: i % 2 == 1 ? leave.Token : default);
                    response.StatusCode.Should().BeOneOf(HttpStatusCode.OK, HttpStatusCode.ServiceUnavailable);
                }
                catch (OperationCanceledException)
                {
                }
            })).ToList();
            await Eventually.TrueAsync(
                () => Waiters.AsleepOn(queue.Id) + polls.Count(p => p.IsCompleted) == 2 * Cap, "every consumer is asleep or answered");
            var sends = Enumerable.Range(0, 2).Select(i => Task.Run(() => Client.SendAsync(queue.Id, $"round {round}, message {i}"))).ToList();
            await leave.CancelAsync();
            Clock.Advance(TimeSpan.FromSeconds(1));
            await Task.WhenAll(sends);
            var all = Task.WhenAll(polls);
            for (var nudge = 0; nudge < 10 && await Task.WhenAny(all, Task.Delay(TimeSpan.FromMilliseconds(100))) != all; nudge++)
            {
                Clock.Advance(TimeSpan.FromSeconds(1));
            }

            await all.WaitAsync(TimeSpan.FromSeconds(10));
        }

        // What the bursts left in the queue is taken, so the next consumers find nothing and wait.
        while (await Client.ConsumeAsync(queue.Id, size: 100, visibilityTimeout: 3600) is { Length: > 0 })
        {
        }

        await Eventually.TrueAsync(() => Waiters.Count == 0, "every consumer of the bursts has left");
        var waiting = Enumerable.Range(0, Cap).Select(_ => Client.ConsumeResponseAsync(queue.Id, waitTime: 20)).ToList();
        await Eventually.TrueAsync(
            () => Waiters.AsleepOn(queue.Id) == Cap || waiting.Any(w => w.IsCompleted), "as many consumers as the cap allows are asleep");
        waiting.Should().OnlyContain(w => !w.IsCompleted, "no place under the cap may be lost to the bursts");
        var over = Client.ConsumeResponseAsync(queue.Id, waitTime: 20);
        (await Task.WhenAny(over, Task.Delay(TimeSpan.FromSeconds(10)))).Should().BeSameAs(over, "a consumer past the cap is refused at once, not let wait");
        using (var refused = await over)
        {
            await refused.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable);
        }

        for (var i = 0; i < Cap; i++)
        {
            await Client.SendAsync(queue.Id, $"for waiting consumer {i}");
        }

        foreach (var answer in await Task.WhenAll(waiting).WaitAsync(TimeSpan.FromSeconds(10)))
        {
            (await answer.ReadAsync<MessageDto[]>()).Should().ContainSingle();
            answer.Dispose();
        }
    }
}
