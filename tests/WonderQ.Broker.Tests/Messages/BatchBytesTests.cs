using System.Net;
using WonderQ.Shared.Contracts;

namespace WonderQ.Broker.Tests.Messages;

/// <summary>
/// Limits:MaxBatchBytes: a consume or a peek stops adding messages before their bodies pass it, in queue order and the
/// first whatever its size, so one answer held by a slow reader holds at most that much of the broker's memory.
/// </summary>
public class BatchBytesTests : FreshBroker
{
    // Two bodies of 1,000 bytes fit; a third would pass the limit.
    protected static readonly Dictionary<string, string> TwoBodies = new()
    {
        ["Limits:MaxMessageBytes"] = "1024",
        ["Limits:MaxBatchBytes"] = "2500",
    };

    private static readonly string _kilobyte = new('k', 1000);

    public BatchBytesTests()
        : base(new BrokerApplication(settings: TwoBodies))
    {
    }

    protected BatchBytesTests(BrokerApplication app)
        : base(app)
    {
    }

    [Fact]
    public async Task A_consume_takes_messages_in_order_until_the_next_body_would_pass_the_limit()
    {
        var queue = await Client.CreateQueueAsync();
        var ids = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await Client.SendAsync(queue.Id, $"{i}{_kilobyte[1..]}"));
        }

        var batches = new List<long[]>();
        for (var i = 0; i < 4; i++)
        {
            batches.Add([.. (await Client.ConsumeAsync(queue.Id, size: 10)).Select(m => m.Id)]);
        }

        batches.Should().SatisfyRespectively(
            first => first.Should().Equal(ids[0], ids[1]),
            second => second.Should().Equal(ids[2], ids[3]),
            third => third.Should().Equal(ids[4]),
            fourth => fourth.Should().BeEmpty());
    }

    /// <summary>The limit is the most an answer holds, not a size it must stay under: 16 bodies of 256 KiB in 4 MiB.</summary>
    [Fact]
    public async Task Bodies_that_add_up_to_exactly_the_limit_come_in_one_consume_and_one_peek()
    {
        var queue = await Client.CreateQueueAsync();
        var ids = new List<long>
        {
            await Client.SendAsync(queue.Id, _kilobyte),
            await Client.SendAsync(queue.Id, _kilobyte),
            await Client.SendAsync(queue.Id, new string('h', 500)),
        };
        await Client.SendAsync(queue.Id, "one byte past");

        var peeked = await Client.PeekAsync(queue.Id, size: 10);
        var consumed = await Client.ConsumeAsync(queue.Id, size: 10);

        peeked.Select(m => m.Id).Should().Equal(ids, "2,500 bytes of bodies is the limit, reached and not passed");
        consumed.Select(m => m.Id).Should().Equal(ids);
    }

    [Fact]
    public async Task Small_bodies_fill_the_size_asked_for()
    {
        var queue = await Client.CreateQueueAsync();
        for (var i = 0; i < 12; i++)
        {
            await Client.SendAsync(queue.Id, $"small {i}");
        }

        (await Client.ConsumeAsync(queue.Id, size: 10)).Should().HaveCount(10);
    }

    /// <summary>A body stored under a larger Limits:MaxMessageBytes than the broker has now still comes out, on its own.</summary>
    [Fact]
    public async Task A_body_larger_than_the_limit_on_its_own_is_answered_alone()
    {
        var queue = await Client.CreateQueueAsync();
        var large = await Client.SendAsync(queue.Id, "to be made larger");
        var next = await Client.SendAsync(queue.Id, "next");
        App.ExecuteInStore(App.PostgresConnectionString is null
            ? $"UPDATE messages SET body = replace(hex(zeroblob(2000)), '0', 'x') WHERE id = {large}"
            : $"UPDATE messages SET body = convert_to(repeat('x', 4000), 'UTF8') WHERE id = {large}");

        var peeked = await Client.PeekAsync(queue.Id);
        var first = await Client.ConsumeAsync(queue.Id, size: 10);
        var second = await Client.ConsumeAsync(queue.Id, size: 10);

        peeked.Should().ContainSingle().Which.Body.Should().HaveLength(4000);
        first.Should().ContainSingle().Which.Id.Should().Be(large);
        second.Should().ContainSingle().Which.Id.Should().Be(next);
    }

    [Fact]
    public async Task A_peek_is_cut_in_the_same_place_and_its_tag_still_answers_304()
    {
        var queue = await Client.CreateQueueAsync();
        for (var i = 0; i < 3; i++)
        {
            await Client.SendAsync(queue.Id, _kilobyte);
        }

        using var first = await Client.GetAsync($"/queues/{queue.Id}/messages?size=10");
        using var again = new HttpRequestMessage(HttpMethod.Get, $"/queues/{queue.Id}/messages?size=10");
        again.Headers.IfNoneMatch.Add(first.Headers.ETag!);
        using var revalidated = await Client.SendAsync(again);

        (await first.ReadAsync<MessageDto[]>()).Should().HaveCount(2);
        revalidated.StatusCode.Should().Be(HttpStatusCode.NotModified, "the tag of the versions is cut where the answer was");
    }

    /// <summary>
    /// An expiry wakes one waiter, which passes the turn on when its batch is full: full by the bytes it may take as much
    /// as by its size, or the other waiters sleep beside retrievable messages until their wait runs out.
    /// </summary>
    [Fact]
    public async Task A_waiter_woken_by_an_expiry_whose_batch_the_limit_cut_short_wakes_the_next()
    {
        var queue = await Client.CreateQueueAsync();
        var ids = new List<long>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add(await Client.SendAsync(queue.Id, _kilobyte));
        }

        (await Client.ConsumeAsync(queue.Id, size: 10, visibilityTimeout: 10)).Should().HaveCount(2);
        (await Client.ConsumeAsync(queue.Id, size: 10, visibilityTimeout: 10)).Should().HaveCount(2);
        var first = Client.ConsumeAsync(queue.Id, size: 10, waitTime: 20);
        await AsleepAsync(queue.Id, 1);
        var second = Client.ConsumeAsync(queue.Id, size: 10, waitTime: 20);
        await AsleepAsync(queue.Id, 2);

        var firstMessages = await AdvanceUntilAnsweredAsync(first, TimeSpan.FromSeconds(11));
        var secondMessages = await second.WaitAsync(TimeSpan.FromSeconds(10));

        firstMessages.Should().HaveCount(2);
        firstMessages.Concat(secondMessages).Select(m => m.Id).Should().BeEquivalentTo(ids);
    }
}

public sealed class BatchBytesOnPostgresTests() : BatchBytesTests(BrokerApplication.OnPostgres(settings: TwoBodies));
