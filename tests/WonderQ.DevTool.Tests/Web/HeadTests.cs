using System.Net;
using FluentAssertions;
using WonderQ.DevTool.Tests.Browser;
using WonderQ.Shared.Contracts;

namespace WonderQ.DevTool.Tests.Web;

/// <summary>
/// HEAD over real sockets, the DevTool in front of a real broker: the page, its files and every JSON endpoint answer
/// a HEAD with the status and headers of their GET and no body.
/// </summary>
public sealed class HeadTests(PatientLiveApps apps) : IClassFixture<PatientLiveApps>, IDisposable
{
    private readonly HttpClient _devTool = apps.CreateClient();

    [Theory]
    [InlineData("/")]
    [InlineData("/app.js")]
    [InlineData("/dashboard/settings")]
    [InlineData("/queues")]
    [InlineData("/queues/{queue}?size=5")]
    [InlineData("/queues/no-such-queue")]
    [InlineData("/queues/{queue}?size=0")]
    public async Task A_HEAD_is_answered_with_the_status_and_headers_of_the_GET_and_no_body(string target)
    {
        var name = await QueueWithAMessageAsync();
        var uri = target.Replace("{queue}", name, StringComparison.Ordinal);

        using var get = await _devTool.GetAsync(uri);
        using var head = await _devTool.HeadAsync(uri);

        head.StatusCode.Should().Be(get.StatusCode);
        HeadProbe.HeadersOf(head).Should().BeEquivalentTo(HeadProbe.HeadersOf(get));
        (await head.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task A_HEAD_of_a_queue_s_messages_with_their_tag_is_a_304_while_they_are_unchanged()
    {
        var name = await QueueWithAMessageAsync();
        using var peek = await _devTool.GetAsync($"/queues/{name}");
        var tag = peek.Headers.ETag!.ToString();

        using var unchanged = await _devTool.HeadAsync($"/queues/{name}", tag);
        await apps.BrokerClient.SendAsync(QueueRef.ByName(name), "two");
        using var changed = await _devTool.HeadAsync($"/queues/{name}", tag);

        unchanged.StatusCode.Should().Be(HttpStatusCode.NotModified);
        unchanged.Headers.ETag!.ToString().Should().Be(tag);
        changed.StatusCode.Should().Be(HttpStatusCode.OK);
        changed.Headers.ETag!.ToString().Should().NotBe(tag);
    }

    public void Dispose() => _devTool.Dispose();

    private async Task<string> QueueWithAMessageAsync()
    {
        var name = "head-" + Guid.NewGuid().ToString("N")[..12];
        await apps.BrokerClient.CreateQueueAsync(name);
        await apps.BrokerClient.SendAsync(QueueRef.ByName(name), "one");
        return name;
    }
}
