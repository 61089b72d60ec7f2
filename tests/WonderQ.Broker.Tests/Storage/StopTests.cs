using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using WonderQ.Broker.Messages;
using WonderQ.Broker.Storage;
using WonderQ.Broker.Storage.Sqlite;
using WonderQ.Shared.Contracts;

namespace WonderQ.Broker.Tests.Storage;

/// <summary>A broker stopped in the middle of sends and long polls, on a real socket and the real clock.</summary>
public sealed class StopTests
{
    [Fact]
    public async Task Every_send_answered_201_before_a_stop_amid_sends_and_long_polls_is_there_after_the_restart()
    {
        await using var broker = await KestrelBroker.StartAsync();
        long queueId;
        using (var setup = broker.CreateClient())
        {
            queueId = (await setup.CreateQueueAsync()).Id;
        }

        var acknowledged = new ConcurrentBag<long>();
        var claimed = new ConcurrentBag<MessageDto>();
        var consumeAnswers = new ConcurrentBag<HttpStatusCode>();
        using var client = broker.CreateClient();
        var producers = Enumerable.Range(0, 8).Select(p => Task.Run(async () =>
        {
            for (var i = 0; ; i++)
            {
                try
                {
                    using var response = await client.PostAsync("/messages", Wire.Json(new SendMessageRequest(queueId, null, $"producer {p}, message {i}")));
                    if (response.StatusCode != HttpStatusCode.Created)
                    {
                        return;
                    }

                    acknowledged.Add((await response.ReadAsync<SendMessageResponse>()).Id);
                }
                catch (HttpRequestException)
                {
                    return;
                }
            }
        })).ToList();

        // Consumers that take a message or two and ask again, so some are parked and some are being handed a claim when
        // the broker stops. None acknowledges: every message must still be there after the restart.
        var consumers = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            while (true)
            {
                try
                {
                    using var response = await client.ConsumeResponseAsync(queueId, size: 2, waitTime: 20, visibilityTimeout: 1);
                    consumeAnswers.Add(response.StatusCode);
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        return;
                    }

                    foreach (var message in await response.ReadAsync<MessageDto[]>())
                    {
                        claimed.Add(message);
                    }
                }
                catch (HttpRequestException)
                {
                    return;
                }
            }
        })).ToList();

        await Eventually.TrueAsync(() => acknowledged.Count >= 200, "the producers are under way");
        await broker.StopAsync();
        await Task.WhenAll(producers.Concat(consumers)).WaitAsync(TimeSpan.FromSeconds(30));

        await broker.RestartAsync();
        using var restarted = broker.CreateClient();
        await Task.Delay(TimeSpan.FromSeconds(1.5)); // the consumers' one-second reservations run out
        var stored = new HashSet<long>();
        while (await restarted.ConsumeAsync(queueId, size: 100, visibilityTimeout: 600) is { Length: > 0 } batch)
        {
            stored.UnionWith(batch.Select(m => m.Id));
        }

        stored.Should().Contain(acknowledged, "a 201 says the message was committed to disk");
        stored.Should().Contain(claimed.Select(m => m.Id), "a message handed to a consumer that never acknowledged it comes back");
        consumeAnswers.Should().NotContain(s => (int)s >= 500 && s != HttpStatusCode.ServiceUnavailable);
    }

    [Fact]
    public async Task A_message_claimed_for_a_waiting_consumer_in_a_send_s_commit_as_the_broker_stops_reaches_it_and_comes_back_after_a_restart()
    {
        using var database = new TempDatabase();
        var clock = new FakeTimeProvider(BrokerApplication.StartTime);
        long queueId;
        long id;
        await using (var broker = new BrokerApplication(database.Path, clock: clock))
        {
            using var client = broker.CreateClient();
            queueId = (await client.CreateQueueAsync()).Id;
            var consume = client.ConsumeAsync(queueId, waitTime: 20, visibilityTimeout: 10);
            var waiters = broker.Services.GetRequiredService<WaitingConsumers>();
            await Eventually.TrueAsync(() => waiters.AsleepOn(queueId) == 1, "the consumer is asleep");
            using var held = new HeldClaims(broker.Services, broker.DatabasePath);

            // The send's commit has taken the consumer and is claiming for it when the broker begins to stop, which
            // answers every consumer still parked with [] at once.
            var send = client.SendAsync(queueId, "claimed as the broker stops");
            await held.Entered.WaitAsync(TimeSpan.FromSeconds(10));
            broker.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
            held.Release();
            id = await send;

            (await consume.WaitAsync(TimeSpan.FromSeconds(10))).Should().ContainSingle("a consumer taken for a claim is answered with it")
                .Which.Id.Should().Be(id);
        }

        await using var after = new BrokerApplication(database.Path, clock: clock);
        using var restarted = after.CreateClient();
        (await restarted.ConsumeAsync(queueId)).Should().BeEmpty("the message is reserved for that consumer for 10 s");
        clock.Advance(TimeSpan.FromSeconds(10));
        (await restarted.ConsumeAsync(queueId)).Should().ContainSingle().Which.Should().Match<MessageDto>(m => m.Id == id && m.ReceiveCount == 2);
    }

    /// <summary>
    /// Since .NET 10 a BackgroundService's ExecuteAsync runs through Task.Run with the stopping token, so a host stopped
    /// at once (a port that turns out taken, a test) may stop before the thread pool ever ran it; CI under load did.
    /// A start token cancelled already makes that certain here. The writer must still answer what it was handed, and
    /// stop and dispose without throwing.
    /// </summary>
    [Fact]
    public async Task A_writer_stopped_before_the_thread_pool_ran_it_still_commits_what_it_was_handed_and_stops_cleanly()
    {
        using var database = new TempDatabase();
        QueueDto? queue;
        await using (var app = Program.CreateApp(["--urls", "http://127.0.0.1:0", $"--Storage:Sqlite:Path={database.Path}"]))
        {
            var writer = app.Services.GetRequiredService<SqliteCommitWriter>();
            await writer.StartAsync(new CancellationToken(canceled: true));

            var created = app.Services.GetRequiredService<IMessageStore>().CreateQueueAsync("handed-over", 10, CancellationToken.None);
            await writer.StopAsync(CancellationToken.None);

            queue = (await created.WaitAsync(TimeSpan.FromSeconds(10))).Queue;
            queue.Should().NotBeNull();
            writer.Invoking(w => w.Dispose()).Should().NotThrow();
        }

        await using var restarted = new BrokerApplication(database.Path);
        using var client = restarted.CreateClient();
        (await client.CountsAsync(queue!.Id)).Name.Should().Be("handed-over", "the queue was committed before the stop");
    }
}
