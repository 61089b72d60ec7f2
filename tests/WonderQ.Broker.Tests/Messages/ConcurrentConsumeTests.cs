using System.Collections.Concurrent;
using System.Net;
using WonderQ.Shared.Contracts;

namespace WonderQ.Broker.Tests.Messages;

/// <summary>Many producers and consumers at once, on the real clock: every message is delivered exactly once.</summary>
public class ConcurrentConsumeTests : FreshBroker
{
    public ConcurrentConsumeTests()
        : base(new BrokerApplication(systemClock: true))
    {
    }

    protected ConcurrentConsumeTests(BrokerApplication app)
        : base(app)
    {
    }

    private const int MessageCount = 2_000;
    private const int Consumers = 16;
    private const int Producers = 16;

    [Fact]
    public async Task Sixteen_consumers_drain_2000_messages_each_delivered_exactly_once()
    {
        var queue = await Client.CreateQueueAsync();
        var sent = new ConcurrentBag<long>();
        var delivered = new ConcurrentBag<MessageDto>();
        var failures = new ConcurrentBag<string>();
        var producing = Task.WhenAll(Enumerable.Range(0, Producers).Select(p => Task.Run(async () =>
        {
            for (var i = p; i < MessageCount; i += Producers)
            {
                sent.Add(await Client.SendAsync(queue.Id, $"message {i}"));
            }
        })));

        var consuming = Task.WhenAll(Enumerable.Range(0, Consumers).Select(_ => Task.Run(async () =>
        {
            while (true)
            {
                var producersDone = producing.IsCompleted;
                var batch = await Client.ConsumeAsync(queue.Id, size: Random.Shared.Next(1, 11), waitTime: 1, visibilityTimeout: 60);
                if (batch.Length == 0 && producersDone)
                {
                    return;
                }

                foreach (var message in batch)
                {
                    delivered.Add(message);
                    using var ack = await Client.DeleteMessageAsync(message.Id, message.ReservationToken);
                    if (ack.StatusCode != HttpStatusCode.OK)
                    {
                        failures.Add($"delete of {message.Id} answered {(int)ack.StatusCode}");
                    }
                }
            }
        })));
        await Task.WhenAll(producing, consuming).WaitAsync(TimeSpan.FromSeconds(60));

        failures.Should().BeEmpty();
        sent.Should().HaveCount(MessageCount).And.OnlyHaveUniqueItems();
        // Sorted and compared with Equal: BeEquivalentTo matches 2,000 items pairwise and takes most of a minute.
        delivered.Select(m => m.Id).Should().OnlyHaveUniqueItems("no message is handed to two consumers");
        delivered.Select(m => m.Id).Order().Should().Equal(sent.Order(), "no message is missing");
        delivered.Should().OnlyContain(m => m.ReceiveCount == 1);
        (await Client.CountsAsync(queue.Id)).Should().Be(new QueueCounts(queue.Id, queue.Name, 0, 0, 0));
    }
}

/// <summary>The same on PostgreSQL: the contract both stores keep.</summary>
public sealed class ConcurrentConsumeOnPostgresTests() : ConcurrentConsumeTests(BrokerApplication.OnPostgres(systemClock: true));
