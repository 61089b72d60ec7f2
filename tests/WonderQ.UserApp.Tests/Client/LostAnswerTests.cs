using System.Net;
using WonderQ.Shared.Client;
using WonderQ.Shared.Contracts;
using WonderQ.UserApp.Tests.Infrastructure;

namespace WonderQ.UserApp.Tests.Client;

/// <summary>
/// A queue created or deleted by the broker whose answer never reached the client: the client's retry then reads
/// 409 or 404, which is its own first attempt's work, not someone else's.
/// </summary>
public sealed class LostAnswerTests(KestrelBroker broker) : IClassFixture<KestrelBroker>, IDisposable
{
    private readonly TestBrokerClient _direct = new(broker.Url);

    public void Dispose() => _direct.Dispose();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_create_whose_answer_was_lost_reports_the_queue_it_created_not_a_409(bool reset)
    {
        await using var relay = await LosingRelay.StartAsync(broker.Url, "POST", reset);
        using var client = new TestBrokerClient(relay.Url);
        var name = $"created-unanswered-{reset}";

        var created = await client.Client.CreateQueueAsync(name);

        created.Name.Should().Be(name);
        (await _direct.Client.FindQueueAsync(QueueRef.ByName(name))).Should().BeEquivalentTo(created);
        relay.Forwarded.Should().BeGreaterThanOrEqualTo(2, "the broker created it on the first attempt and refused the retry");
    }

    [Fact]
    public async Task A_create_of_a_queue_that_was_there_before_is_a_409_though_an_answer_of_the_call_is_never_lost()
    {
        await _direct.Client.CreateQueueAsync("there-before");
        await using var relay = await LosingRelay.StartAsync(broker.Url, "DELETE", reset: true);
        using var client = new TestBrokerClient(relay.Url);

        var act = () => client.Client.CreateQueueAsync("there-before");

        (await act.Should().ThrowAsync<BrokerException>()).Which.Status.Should().Be(HttpStatusCode.Conflict);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_delete_whose_answer_was_lost_reports_the_queue_deleted_not_missing(bool reset)
    {
        var queue = await _direct.Client.CreateQueueAsync($"deleted-unanswered-{reset}");
        await using var relay = await LosingRelay.StartAsync(broker.Url, "DELETE", reset);
        using var client = new TestBrokerClient(relay.Url);

        var deleted = await client.Client.DeleteQueueAsync(QueueRef.ById(queue.Id));

        deleted.Should().BeTrue("this call's first attempt deleted it");
        (await _direct.Client.FindQueueAsync(QueueRef.ById(queue.Id))).Should().BeNull();
        relay.Forwarded.Should().Be(2);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_delete_by_name_whose_answer_was_lost_leaves_the_queue_of_that_name_created_before_its_retry(bool reset)
    {
        var name = $"named-again-{reset}";
        await _direct.Client.CreateQueueAsync(name);
        QueueDto? again = null;
        await using var relay = await LosingRelay.StartAsync(broker.Url, "DELETE", reset, whileLost: async () =>
        {
            // Another client, a /dispatch say, makes the name's queue again and sends to it while this answer is lost.
            again = await _direct.Client.CreateQueueAsync(name);
            await _direct.Client.SendAsync(QueueRef.ById(again.Id), "sent to the new queue");
        });
        using var client = new TestBrokerClient(relay.Url);

        var deleted = await client.Client.DeleteQueueAsync(QueueRef.ByName(name));

        deleted.Should().BeTrue("this call's first attempt deleted the queue it named");
        (await _direct.Client.FindQueueAsync(QueueRef.ByName(name))).Should().NotBeNull().And.Be(again);
        (await _direct.Client.ConsumeAsync(QueueRef.ByName(name), size: 10, waitTimeSeconds: 0))
            .Should().ContainSingle().Which.Body.Should().Be("sent to the new queue");
    }

    [Fact]
    public async Task A_delete_of_a_queue_that_is_not_there_is_false_when_no_answer_was_lost()
    {
        await using var relay = await LosingRelay.StartAsync(broker.Url, "POST", reset: true);
        using var client = new TestBrokerClient(relay.Url);

        (await client.Client.DeleteQueueAsync(QueueRef.ByName("never-created"))).Should().BeFalse();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_message_delete_whose_answer_was_lost_reports_the_message_deleted_not_missing(bool reset)
    {
        var queue = await _direct.Client.CreateQueueAsync($"acknowledged-unanswered-{reset}");
        await _direct.Client.SendAsync(QueueRef.ById(queue.Id), "hello");
        var claimed = (await _direct.Client.ConsumeAsync(QueueRef.ById(queue.Id), size: 1, waitTimeSeconds: 0)).Single();
        await using var relay = await LosingRelay.StartAsync(broker.Url, "DELETE", reset);
        using var client = new TestBrokerClient(relay.Url);

        var deleted = await client.Client.DeleteMessageAsync(claimed.Id, claimed.ReservationToken);

        deleted.Should().BeTrue("this call's first attempt deleted it");
        (await _direct.Client.PeekAsync(QueueRef.ById(queue.Id))).Should().BeEmpty();
        relay.Forwarded.Should().Be(2);
    }

    [Fact]
    public async Task A_message_delete_whose_connection_closed_unanswered_on_a_kept_alive_connection_reports_the_message_deleted()
    {
        var queue = await _direct.Client.CreateQueueAsync("acknowledged-kept-alive");
        await _direct.Client.SendAsync(QueueRef.ById(queue.Id), "hello");
        var claimed = (await _direct.Client.ConsumeAsync(QueueRef.ById(queue.Id), size: 1, waitTimeSeconds: 0)).Single();
        await using var relay = await LosingRelay.StartAsync(broker.Url, "DELETE", reset: false, closed: true);
        using var client = new TestBrokerClient(relay.Url);
        // As the listener's acknowledgements do, the delete goes on a connection an earlier call left open: a broker
        // killed after its commit closes that connection unanswered.
        await client.Client.FindQueueAsync(QueueRef.ById(queue.Id));

        var deleted = await client.Client.DeleteMessageAsync(claimed.Id, claimed.ReservationToken);

        deleted.Should().BeTrue("this call's first attempt deleted it");
        (await _direct.Client.PeekAsync(QueueRef.ById(queue.Id))).Should().BeEmpty();
    }

    [Fact]
    public async Task A_queue_delete_whose_connection_closed_unanswered_on_a_kept_alive_connection_reports_the_queue_deleted()
    {
        var queue = await _direct.Client.CreateQueueAsync("deleted-kept-alive");
        await using var relay = await LosingRelay.StartAsync(broker.Url, "DELETE", reset: false, closed: true);
        using var client = new TestBrokerClient(relay.Url);
        await client.Client.FindQueueAsync(QueueRef.ById(queue.Id));

        var deleted = await client.Client.DeleteQueueAsync(QueueRef.ById(queue.Id));

        deleted.Should().BeTrue("this call's first attempt deleted it");
        (await _direct.Client.FindQueueAsync(QueueRef.ById(queue.Id))).Should().BeNull();
    }

    [Fact]
    public async Task A_message_delete_of_a_message_that_is_not_there_is_false_when_no_answer_was_lost()
    {
        var queue = await _direct.Client.CreateQueueAsync("acknowledged-twice");
        var sent = await _direct.Client.SendAsync(QueueRef.ById(queue.Id), "hello");
        await _direct.Client.DeleteMessageAsync(sent.Id);
        await using var relay = await LosingRelay.StartAsync(broker.Url, "POST", reset: true);
        using var client = new TestBrokerClient(relay.Url);

        (await client.Client.DeleteMessageAsync(sent.Id)).Should().BeFalse();
    }
}
