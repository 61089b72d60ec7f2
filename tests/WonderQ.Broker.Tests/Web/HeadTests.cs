using System.Net;

namespace WonderQ.Broker.Tests.Web;

/// <summary>
/// HEAD over a real socket, as a load balancer or a monitor sends it: wherever a GET is answered, a HEAD gets the same
/// status and headers with no body, except on the consume, which a HEAD must not run.
/// </summary>
public sealed class HeadTests(KestrelBroker broker) : IClassFixture<KestrelBroker>, IDisposable
{
    private readonly HttpClient _client = broker.CreateClient();

    [Theory]
    [InlineData("/queues")]
    [InlineData("/queues/find?name={queue}")]
    [InlineData("/queues/find")]
    [InlineData("/queues/{queue}/messages?size=5")]
    [InlineData("/queues/no-such-queue/messages")]
    [InlineData("/healthz")]
    [InlineData("/openapi/v1.json")]
    public async Task A_HEAD_is_answered_with_the_status_and_headers_of_the_GET_and_no_body(string target)
    {
        var queue = await _client.CreateQueueAsync();
        await _client.SendAsync(queue.Id, "a body a HEAD does not carry");
        var uri = target.Replace("{queue}", queue.Name, StringComparison.Ordinal);

        using var get = await _client.GetAsync(uri);
        using var head = await _client.HeadAsync(uri);

        head.StatusCode.Should().Be(get.StatusCode);
        HeadProbe.HeadersOf(head).Should().BeEquivalentTo(HeadProbe.HeadersOf(get));
        (await head.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task A_HEAD_of_a_peek_with_its_tag_is_a_304_while_the_messages_are_unchanged()
    {
        var queue = await _client.CreateQueueAsync();
        await _client.SendAsync(queue.Id, "one");
        using var peek = await _client.GetAsync($"/queues/{queue.Id}/messages");
        var tag = peek.Headers.ETag!.ToString();

        using var unchanged = await _client.HeadAsync($"/queues/{queue.Id}/messages", tag);
        await _client.SendAsync(queue.Id, "two");
        using var changed = await _client.HeadAsync($"/queues/{queue.Id}/messages", tag);

        unchanged.StatusCode.Should().Be(HttpStatusCode.NotModified);
        unchanged.Headers.ETag!.ToString().Should().Be(tag);
        changed.StatusCode.Should().Be(HttpStatusCode.OK);
        changed.Headers.ETag!.ToString().Should().NotBe(tag);
    }

    [Fact]
    public async Task A_HEAD_of_a_consume_is_a_405_that_claims_nothing()
    {
        var queue = await _client.CreateQueueAsync();
        await _client.SendAsync(queue.Id, "for a GET only");

        using var head = await _client.HeadAsync($"/messages/consume?queue_id={queue.Id}&wait_time=20&visibility_timeout=600");

        head.StatusCode.Should().Be(HttpStatusCode.MethodNotAllowed);
        head.Content.Headers.Allow.Should().Contain("GET");
        var message = (await _client.PeekAsync(queue.Id)).Should().ContainSingle().Subject;
        message.ReservationToken.Should().BeNull("a HEAD claims nothing");
        message.ReceiveCount.Should().Be(0);
        (await _client.ConsumeAsync(queue.Id)).Should().ContainSingle().Which.Body.Should().Be("for a GET only");
    }

    public void Dispose() => _client.Dispose();
}
