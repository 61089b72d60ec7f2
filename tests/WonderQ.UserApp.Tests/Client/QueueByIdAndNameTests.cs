using System.Net;
using WonderQ.Shared.Client;
using WonderQ.Shared.Contracts;
using WonderQ.UserApp.Tests.Infrastructure;

namespace WonderQ.UserApp.Tests.Client;

/// <summary>
/// The typed client's calls on <c>/queues/{queue}</c>, whose route names a queue by id or by name, given a
/// <see cref="QueueRef"/> with both, which names the queue with that id and that name or none.
/// </summary>
public sealed class QueueByIdAndNameTests(KestrelBroker broker) : IClassFixture<KestrelBroker>, IDisposable
{
    private readonly TestBrokerClient _client = new(broker.Url);

    private BrokerClient Client => _client.Client;

    public void Dispose() => _client.Dispose();

    [Fact]
    public async Task Deleting_an_id_with_another_queue_s_name_deletes_neither_queue()
    {
        var kept = await Client.CreateQueueAsync("kept-by-id");
        var other = await Client.CreateQueueAsync("named-by-name");
        await Client.SendAsync(QueueRef.ById(kept.Id), "must survive");

        var deleted = await Client.DeleteQueueAsync(new QueueRef(kept.Id, other.Name));

        deleted.Should().BeFalse("no queue has that id and that name");
        (await Client.PeekAsync(QueueRef.ById(kept.Id))).Should().ContainSingle().Which.Body.Should().Be("must survive");
        (await Client.FindQueueAsync(QueueRef.ByName(other.Name))).Should().NotBeNull();
    }

    [Fact]
    public async Task Deleting_by_a_matching_id_and_name_deletes_the_queue()
    {
        var queue = await Client.CreateQueueAsync("deleted-by-both");

        (await Client.DeleteQueueAsync(new QueueRef(queue.Id, queue.Name))).Should().BeTrue();

        (await Client.FindQueueAsync(QueueRef.ById(queue.Id))).Should().BeNull();
    }

    [Fact]
    public async Task Peeking_at_an_id_with_another_queue_s_name_is_a_404_not_the_id_s_messages()
    {
        var peeked = await Client.CreateQueueAsync("peeked-by-id");
        var other = await Client.CreateQueueAsync("peek-other-name");
        await Client.SendAsync(QueueRef.ById(peeked.Id), "not the other queue's");

        var act = () => Client.PeekAsync(new QueueRef(peeked.Id, other.Name));

        (await act.Should().ThrowAsync<BrokerException>()).Which.Status.Should().Be(HttpStatusCode.NotFound);
        (await Client.PeekAsync(new QueueRef(peeked.Id, peeked.Name))).Should().ContainSingle().Which.Body.Should().Be("not the other queue's");
    }
}
