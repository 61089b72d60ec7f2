using System.Net;
using WonderQ.Shared.Contracts;
using WonderQ.UserApp.Tests.Infrastructure;

namespace WonderQ.UserApp.Tests.Web;

/// <summary>
/// HEAD over real sockets: the UserApp's GETs answer it with their status and headers and no body, except the
/// listen, which starts a loop and so must not run for a HEAD.
/// </summary>
public sealed class HeadTests(UserAppOnASocket apps) : IClassFixture<UserAppOnASocket>, IDisposable
{
    private readonly HttpClient _userApp = apps.CreateClient();
    private readonly TestBrokerClient _broker = new(apps.BrokerUrl);

    [Theory]
    [InlineData("/listeners")]
    [InlineData("/openapi/v1.json")]
    public async Task A_HEAD_is_answered_with_the_status_and_headers_of_the_GET_and_no_body(string uri)
    {
        using var get = await _userApp.GetAsync(uri);
        using var head = await _userApp.HeadAsync(uri);

        head.StatusCode.Should().Be(get.StatusCode);
        HeadProbe.HeadersOf(head).Should().BeEquivalentTo(HeadProbe.HeadersOf(get));
        (await head.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task A_HEAD_of_listen_is_a_405_that_starts_no_loop()
    {
        var name = "head-" + Guid.NewGuid().ToString("N")[..12];
        await _broker.Client.CreateQueueAsync(name);
        await _broker.Client.SendAsync(QueueRef.ByName(name), "for a listener started by GET");

        using var head = await _userApp.HeadAsync($"/listen?queue_name={name}&wait_time=1");

        head.StatusCode.Should().Be(HttpStatusCode.MethodNotAllowed);
        head.Content.Headers.Allow.Should().BeEquivalentTo("GET", "DELETE");
        (await _userApp.GetStringAsync("/listeners")).Should().Be("[]", "no loop was started");
        (await _broker.Client.PeekAsync(QueueRef.ByName(name))).Should().ContainSingle().Which.ReceiveCount.Should().Be(0);
    }

    public void Dispose()
    {
        _userApp.Dispose();
        _broker.Dispose();
    }
}
