using System.Net;
using WonderQ.Shared.Client;
using WonderQ.Shared.Contracts;
using WonderQ.UserApp.Tests.Infrastructure;

namespace WonderQ.UserApp.Tests.Client;

/// <summary>
/// What an app that embeds the typed client may pass it from its own callers, against a real broker: whatever it is,
/// the client sends one request of its own making, and the broker's answer comes back as the client's.
/// </summary>
public sealed class CallerInputTests(KestrelBroker broker) : IClassFixture<KestrelBroker>, IDisposable
{
    private readonly TestBrokerClient _client = new(broker.Url);

    public void Dispose() => _client.Dispose();

    [Theory]
    // A second request on the same connection, after a header that ends the first.
    [InlineData("\"x\"\r\nContent-Length: 0\r\n\r\nDELETE /queues/{0} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nX-Rest: y")]
    // Kestrel refuses a header holding one with a 400 of its own, which is no answer of the broker's.
    [InlineData("\"x\0\"")]
    public async Task A_peek_s_entity_tag_that_no_header_can_carry_gets_a_full_answer_and_sends_nothing_else(string tagTemplate)
    {
        var peeked = await _client.Client.CreateQueueAsync($"peeked-{tagTemplate.Length}");
        var other = await _client.Client.CreateQueueAsync($"other-{tagTemplate.Length}");
        await _client.Client.SendAsync(QueueRef.ById(peeked.Id), "still here");
        var tag = string.Format(System.Globalization.CultureInfo.InvariantCulture, tagTemplate, other.Id);

        var peek = await _client.Client.PeekIfChangedAsync(QueueRef.ById(peeked.Id), 10, tag);

        peek.Messages.Should().ContainSingle().Which.Body.Should().Be("still here");
        (await _client.Client.FindQueueAsync(QueueRef.ById(other.Id))).Should().NotBeNull("no request of the caller's making reached the broker");
    }

    [Theory]
    [InlineData(-100)]
    [InlineData(int.MaxValue)]
    public async Task A_consume_s_wait_time_no_broker_allows_is_the_broker_s_400_naming_the_limit(int waitTimeSeconds)
    {
        var queue = await _client.Client.CreateQueueAsync($"waited-{waitTimeSeconds}");

        var act = () => _client.Client.ConsumeAsync(QueueRef.ById(queue.Id), 1, waitTimeSeconds, 30);

        var thrown = (await act.Should().ThrowAsync<BrokerException>()).Which;
        thrown.Status.Should().Be(HttpStatusCode.BadRequest);
        thrown.Detail.Should().Contain("wait_time").And.Contain("0 to 20");
    }

    [Theory]
    [InlineData("1")]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("")]
    public async Task A_peek_by_a_name_no_queue_can_have_is_a_404_and_reads_no_other_queue(string name)
    {
        var first = await _client.Client.CreateQueueAsync($"first-{Guid.NewGuid():N}");
        await _client.Client.SendAsync(QueueRef.ById(first.Id), "not for a peek by name");

        var act = () => _client.Client.PeekAsync(QueueRef.ByName(name));

        var thrown = (await act.Should().ThrowAsync<BrokerException>()).Which;
        thrown.Status.Should().Be(HttpStatusCode.NotFound);
        thrown.Detail.Should().Contain($"name '{name}'");
    }

    [Fact]
    public async Task A_peek_by_a_name_of_characters_no_queue_can_have_is_the_broker_s_400()
    {
        var act = () => _client.Client.PeekAsync(QueueRef.ByName("a/b"));

        (await act.Should().ThrowAsync<BrokerException>()).Which.Status.Should().Be(HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(10)]
    [InlineData(40)]
    public async Task A_send_over_the_broker_s_request_body_limit_is_the_broker_s_413_however_large_and_not_retried(int megabytes)
    {
        var queue = await _client.Client.CreateQueueAsync($"large-{megabytes}");

        var act = () => _client.Client.SendAsync(QueueRef.ById(queue.Id), new string('x', megabytes * 1024 * 1024));

        var thrown = (await act.Should().ThrowAsync<BrokerException>()).Which;
        thrown.Should().NotBeAssignableTo<BrokerUnavailableException>("the broker refused the body; it did not go away");
        thrown.Status.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        thrown.Detail.Should().Contain("Limits:MaxRequestBodyBytes");
        (await _client.Client.PeekAsync(QueueRef.ById(queue.Id))).Should().BeEmpty();
    }
}
