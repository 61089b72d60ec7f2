using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using WonderQ.Shared.Json;
using WonderQ.UserApp.Dispatch;
using WonderQ.UserApp.Tests.Client;

namespace WonderQ.UserApp.Tests.Web;

/// <summary>A Ctrl-C or SIGTERM while a request waits on a broker that never answers.</summary>
public sealed partial class StoppingTests
{
    [Theory]
    [InlineData("POST", "/dispatch", true)]
    [InlineData("GET", "/listen?queue_name=orders", false)]
    public async Task A_request_waiting_on_a_broker_that_never_answers_ends_with_the_app_and_says_whether_it_may_have_changed_anything(
        string method, string path, bool mayHaveChanged)
    {
        // Arrange: a broker that takes connections and never answers.
        await using var broker = new SilentBroker();

        // Act: the app is told to stop, as by SIGTERM, while the request's lookup of its queue is under way.
        var (stoppedInTime, took, answer) = await broker.StopWhileAskedAsync(Program.CreateApp, method, path, TimeSpan.FromSeconds(5));

        // Assert: the app did not wait out the client's 30 s Broker:TotalTimeout, and its caller heard why it got no answer.
        stoppedInTime.Should().BeTrue($"the app stops within a second or two, not after the broker call's timeout (it took {took})");
        using var response = answer;
        response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        var detail = problem.GetProperty("detail").GetString();
        detail.Should().StartWith("The UserApp is shutting down");

        // /listen only looks its queue up, which cannot have been done in part: only a dispatch may have sent something.
        if (mayHaveChanged)
        {
            detail.Should().Contain("may have been done all the same");
        }
        else
        {
            detail.Should().Contain("nothing was changed").And.NotContain("may have been done");
        }
    }

    [Fact]
    public async Task A_dispatch_whose_send_goes_unanswered_as_the_app_stops_reports_what_was_sent_and_that_one_unconfirmed()
    {
        // Arrange: a broker that answers the lookup and the first two sends, then stops answering (hung, SIGSTOP).
        var thirdSend = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sends = 0;
        await using var broker = await FlakyBroker.AnsweringAsync(async context =>
        {
            if (context.Request.Method == "GET")
            {
                await context.Response.WriteAsJsonAsync(new { id = 1, name = "hung", created_at = DateTimeOffset.UtcNow }, WonderQJson.Options);
                return;
            }

            var send = Interlocked.Increment(ref sends);
            if (send == 3)
            {
                thirdSend.TrySetResult();
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            }

            context.Response.StatusCode = StatusCodes.Status201Created;
            await context.Response.WriteAsJsonAsync(new { id = send }, WonderQJson.Options);
        });
        var app = await KestrelApp.StartAsync(Program.CreateApp, port: 0, [$"--Broker:Url={broker.Url}", "--UserApp:DispatchParallelism=1"]);
        using var http = app.CreateClient();
        var answer = http.PostAsJsonAsync("/dispatch", new { queue_name = "hung", stub = 10 });
        await thirdSend.Task.WaitAsync(TimeSpan.FromSeconds(30));

        // Act: the app is told to stop, as by SIGTERM, while the third send waits.
        var clock = Stopwatch.StartNew();
        var stopping = app.DisposeAsync().AsTask();
        var stoppedInTime = await Task.WhenAny(stopping, Task.Delay(TimeSpan.FromSeconds(5))) == stopping;
        var took = clock.Elapsed;
        await stopping;

        // Assert: the caller learns which went out, which may have, and which were never sent.
        stoppedInTime.Should().BeTrue($"the app stops within a second or two, not after the send's 30 s timeout (it took {took})");
        using var response = await answer;
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var result = (await response.Content.ReadFromJsonAsync<DispatchResponse>(WonderQJson.Options))!;
        result.Created.Should().Be(2, "the two sends the broker answered are reported sent");
        result.Failed.Should().HaveCount(8);
        result.Failed[0].Body.Should().StartWith("message #3 at ");
        result.Failed[0].Error.Should().StartWith("Not confirmed: the UserApp stopped waiting for the broker's answer").And.Contain("may have stored it");
        result.Failed.Skip(1).Should().AllSatisfy(f => f.Error.Should().Be("Not sent: the UserApp is shutting down."));
        result.Failed.Select(f => f.Body).Should().OnlyHaveUniqueItems().And.AllSatisfy(b => StubBody().IsMatch(b).Should().BeTrue(b));
    }

    [Fact]
    public async Task A_send_the_broker_answers_within_Broker_StopGrace_of_the_stop_is_reported_sent()
    {
        // Arrange: a broker slow to answer a send, given a grace longer than the second it would otherwise have.
        var sendArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var broker = await FlakyBroker.AnsweringAsync(async context =>
        {
            if (context.Request.Method == "GET")
            {
                await context.Response.WriteAsJsonAsync(new { id = 1, name = "slow", created_at = DateTimeOffset.UtcNow }, WonderQJson.Options);
                return;
            }

            sendArrived.TrySetResult();
            await release.Task;
            context.Response.StatusCode = StatusCodes.Status201Created;
            await context.Response.WriteAsJsonAsync(new { id = 7 }, WonderQJson.Options);
        });
        var app = await KestrelApp.StartAsync(Program.CreateApp, port: 0, [$"--Broker:Url={broker.Url}", "--Broker:StopGrace=00:00:05"]);
        using var http = app.CreateClient();
        var answer = http.PostAsJsonAsync("/dispatch", new { queue_name = "slow", body = "hello" });
        await sendArrived.Task.WaitAsync(TimeSpan.FromSeconds(30));

        // Act: the app is told to stop, and the broker answers a second and a half later.
        var stopping = app.DisposeAsync().AsTask();
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        release.TrySetResult();
        await stopping.WaitAsync(TimeSpan.FromSeconds(10));

        // Assert: the send was waited for, and is reported as the broker answered it.
        using var response = await answer;
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var result = (await response.Content.ReadFromJsonAsync<DispatchResponse>(WonderQJson.Options))!;
        result.Failed.Should().BeEmpty();
        result.Messages.Should().Equal(new DispatchedMessage(7));
    }

    [GeneratedRegex(@"^message #\d+ at \d{13}$")]
    private static partial Regex StubBody();
}
