using System.Net;
using WonderQ.UserApp.Tests.Infrastructure;

namespace WonderQ.UserApp.Tests.Listen;

/// <summary>
/// Loops are capped (UserApp:MaxListeners): each holds a long poll at the broker, so loops started for queue after queue
/// would otherwise fill the broker's cap on waiting consumers and turn its real consumers away.
/// </summary>
public sealed class ListenerCapTests : UserAppTestBase
{
    protected override IDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["UserApp:MaxListeners"] = "2",
    };

    [Fact]
    public async Task A_listen_past_the_cap_is_a_429_naming_it_that_starts_no_loop_until_one_is_stopped()
    {
        foreach (var name in new[] { "first", "second", "third" })
        {
            await DispatchAsync(new { queue_name = name, body = name });
        }

        (await ListenAsync("first")).Should().Be(HttpStatusCode.Accepted);
        (await ListenAsync("second")).Should().Be(HttpStatusCode.Accepted);

        using (var refused = await Http.GetAsync("/listen?queue_name=third&wait_time=1"))
        {
            refused.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
            refused.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
            var text = await refused.Content.ReadAsStringAsync();
            text.Should().Contain("maximum of 2 listener loops (UserApp:MaxListeners)");
            text.Should().Contain("\"type\":\"https://tools.ietf.org/html/rfc6585#section-4\"", "a 429 links its RFC as every other problem does");
        }

        (await ListenAsync("first")).Should().Be(HttpStatusCode.OK, "a queue's own loop is still found at the cap");
        (await ListenersAsync()).Select(l => l.Queue.Name).Should().BeEquivalentTo("first", "second");
        await Task.Delay(300);
        App.ProcessedBodies.Should().NotContain("third", "no loop consumes the refused queue");

        using (var stopped = await Http.DeleteAsync("/listen?queue_name=second"))
        {
            stopped.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        (await ListenAsync("third")).Should().Be(HttpStatusCode.Accepted, "a stopped loop makes room");
        await Eventually.TrueAsync(() => App.ProcessedBodies.Contains("third"), "the third queue is consumed once it has a loop");
    }

    private async Task<HttpStatusCode> ListenAsync(string queue)
    {
        using var response = await Http.GetAsync($"/listen?queue_name={queue}&wait_time=1");
        return response.StatusCode;
    }
}
