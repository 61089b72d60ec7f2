using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;

namespace WonderQ.DevTool.Tests.Web;

/// <summary>A Ctrl-C or SIGTERM while the dashboard's call waits on a broker that never answers.</summary>
public sealed class StoppingTests
{
    [Theory]
    [InlineData("GET", "/queues")]
    [InlineData("POST", "/messages")]
    [InlineData("DELETE", "/queues/orders")]
    public async Task A_request_waiting_on_a_broker_that_never_answers_ends_with_the_app_and_says_so(string method, string path)
    {
        // Arrange: the request's broker call is under way on a broker that takes connections and never answers.
        await using var broker = new SilentBroker();
        var app = await KestrelApp.StartAsync(Program.CreateApp, port: 0, [$"--Broker:Url={broker.Url}"]);
        using var http = app.CreateClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), path)
        {
            Content = method == "POST" ? JsonContent.Create(new { queue_name = "orders", body = "hello" }) : null,
        };
        var answer = http.SendAsync(request);
        await broker.Requested.WaitAsync(TimeSpan.FromSeconds(30));

        // Act: the app is told to stop, as by SIGTERM.
        var clock = Stopwatch.StartNew();
        var stopping = app.DisposeAsync().AsTask();
        var stoppedInTime = await Task.WhenAny(stopping, Task.Delay(TimeSpan.FromSeconds(4))) == stopping;
        var took = clock.Elapsed;
        await stopping;

        // Assert: the app did not wait out the client's Broker:TotalTimeout (6 s), and its caller heard why it got no answer.
        stoppedInTime.Should().BeTrue($"the app stops within a second or two, not after the broker call's timeout (it took {took})");
        using var response = await answer;
        response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        problem.GetProperty("detail").GetString().Should().StartWith("The DevTool is shutting down");
    }
}
