using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Http;
using WonderQ.Shared.Json;
using WonderQ.UserApp.Dispatch;
using WonderQ.UserApp.Tests.Client;

namespace WonderQ.UserApp.Tests.Dispatch;

/// <summary>
/// The messages of all the dispatches under way are capped (UserApp:MaxDispatchingMessages): each holds its bodies in
/// memory and its own sends at the broker, so one client asking for the largest stub on every connection it may open
/// would otherwise hold millions of them.
/// </summary>
public sealed class DispatchCapTests
{
    [Fact]
    public async Task A_dispatch_past_the_cap_is_a_429_naming_it_that_creates_and_sends_nothing_until_the_one_under_way_is_answered()
    {
        // Arrange: a broker that finds the queue and holds every send until released.
        var sendArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finds = 0;
        var sends = 0;
        await using var broker = await FlakyBroker.AnsweringAsync(async context =>
        {
            if (context.Request.Method == "GET")
            {
                Interlocked.Increment(ref finds);
                await context.Response.WriteAsJsonAsync(new { id = 1, name = "held", created_at = DateTimeOffset.UtcNow }, WonderQJson.Options);
                return;
            }

            var send = Interlocked.Increment(ref sends);
            sendArrived.TrySetResult();
            await release.Task;
            context.Response.StatusCode = StatusCodes.Status201Created;
            await context.Response.WriteAsJsonAsync(new { id = send }, WonderQJson.Options);
        });
        var app = await KestrelApp.StartAsync(
            Program.CreateApp, port: 0, [$"--Broker:Url={broker.Url}", "--UserApp:MaxStub=5", "--UserApp:MaxDispatchingMessages=5"]);
        await using var _ = app;
        using var http = app.CreateClient();
        var first = http.PostAsJsonAsync("/dispatch", new { queue_name = "held", stub = 3 });
        await sendArrived.Task.WaitAsync(TimeSpan.FromSeconds(30));

        // Act: three more messages while three are under way, past the cap of five.
        using (var refused = await http.PostAsJsonAsync("/dispatch", new { queue_name = "held", stub = 3 }))
        {
            // Assert: refused with the setting named, and nothing asked of the broker for it.
            refused.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
            refused.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
            var text = await refused.Content.ReadAsStringAsync();
            text.Should().Contain("maximum of 5 at once (UserApp:MaxDispatchingMessages)");
            text.Should().Contain("\"type\":\"https://tools.ietf.org/html/rfc6585#section-4\"", "a 429 links its RFC as every other problem does");
            Volatile.Read(ref finds).Should().Be(1, "the refused dispatch did not look its queue up, nor create it");
        }

        // Two fit beside the three under way.
        var within = http.PostAsJsonAsync("/dispatch", new { queue_name = "held", body = "one" });
        var alsoWithin = http.PostAsJsonAsync("/dispatch", new { queue_name = "held", body = "two" });
        await Eventually.TrueAsync(() => Volatile.Read(ref sends) == 5, "the two dispatches within the cap reach the broker");

        release.TrySetResult();
        foreach (var answer in new[] { first, within, alsoWithin })
        {
            using var response = await answer;
            response.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        // Once they are answered, their room is free again.
        using var again = await http.PostAsJsonAsync("/dispatch", new { queue_name = "held", stub = 5 });
        again.StatusCode.Should().Be(HttpStatusCode.OK);
        (await again.Content.ReadFromJsonAsync<DispatchResponse>(WonderQJson.Options))!.Created.Should().Be(5);
    }
}
