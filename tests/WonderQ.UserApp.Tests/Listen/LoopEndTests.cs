using System.Net;
using WonderQ.Shared.Contracts;
using WonderQ.UserApp.Tests.Infrastructure;

namespace WonderQ.UserApp.Tests.Listen;

/// <summary>How a listening loop ends other than by a plain stop: cut short in its grace, or refused for good by the broker.</summary>
public sealed class LoopEndTests : UserAppTestBase
{
    protected override IDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["UserApp:ListenerStopGrace"] = "00:00:00.200",
    };

    [Fact]
    public async Task A_message_printed_but_not_deleted_within_the_grace_is_logged_as_coming_back()
    {
        // Arrange: the acknowledgement hangs past the grace.
        await DispatchAsync(new { queue_name = "grace", body = "printed, never acknowledged" });
        App.HoldAcknowledgements();
        using var started = await Http.GetAsync("/listen?queue_name=grace&wait_time=1");
        await Eventually.ValueAsync(() => App.ProcessedBodies.Count, count => count == 1, "1 message(s) processed");

        // Act
        using var stopped = await Http.DeleteAsync("/listen?queue_name=grace");

        // Assert: the operator is told the message will be delivered again, and it is still in the queue.
        stopped.StatusCode.Should().Be(HttpStatusCode.OK);
        await Eventually.ValueAsync(
            () => string.Join(" | ", App.Logs.Warnings), warnings => warnings.Contains("not deleted", StringComparison.Ordinal), "a warning says so");
        (await QueueSizeAsync("grace")).Should().Be(1);
    }

    [Fact]
    public async Task A_consume_the_broker_refuses_for_good_ends_the_loop_with_an_error_instead_of_retrying_for_ever()
    {
        // Arrange: the broker no longer accepts the app's key.
        await DispatchAsync(new { queue_name = "refused", body = "waits for a valid key" });
        App.BrokerRequest = request => request.RequestUri!.AbsolutePath == "/messages/consume"
            ? new HttpResponseMessage(HttpStatusCode.Unauthorized)
            {
                Content = new StringContent(
                    """{"status":401,"title":"Unauthorized.","detail":"Send 'Authorization: Bearer <key>'."}""",
                    System.Text.Encoding.UTF8,
                    "application/problem+json"),
            }
            : null;

        // Act
        using var started = await Http.GetAsync("/listen?queue_name=refused&wait_time=1");

        // Assert: the loop leaves the listing, and says why once.
        started.StatusCode.Should().Be(HttpStatusCode.Accepted);
        await Eventually.ValueAsync(() => Http.GetStringAsync("/listeners"), listeners => listeners == "[]", "no listener is left");
        App.Logs.Warnings.Should().ContainSingle(w => w.Contains("refused its consume (401)", StringComparison.Ordinal));
        App.ProcessedBodies.Should().BeEmpty();
    }

    [Fact]
    public async Task A_queue_deleted_mid_batch_ends_the_loop_with_one_warning_and_the_rest_of_the_batch_unprinted()
    {
        // Arrange: the queue is deleted through the broker just as the first message of a batch of five is printed.
        var queue = (await DispatchAsync(new { queue_name = "dropped", stub = 5 })).Queue;
        App.Output.LineWritten = line =>
        {
            if (line.StartsWith("Processing message: ", StringComparison.Ordinal))
            {
                App.Output.LineWritten = null;
                BrokerClient.Client.DeleteQueueAsync(QueueRef.ById(queue.Id)).GetAwaiter().GetResult().Should().BeTrue();
            }
        };

        // Act
        using var started = await Http.GetAsync("/listen?queue_name=dropped&size=5&wait_time=1");

        // Assert: the four messages deleted with the queue are not printed as processed, and the operator is told
        // once that the queue is gone, not once for each of them that it was already gone.
        started.StatusCode.Should().Be(HttpStatusCode.Accepted);
        await Eventually.ValueAsync(() => Http.GetStringAsync("/listeners"), listeners => listeners == "[]", "no listener is left");
        App.ProcessedBodies.Should().ContainSingle();
        App.Logs.Warnings.Should().ContainSingle().Which.Should().Contain("dropped (" + queue.Id + ") no longer exists");
    }

    [Theory]
    [InlineData(HttpStatusCode.RequestTimeout)]
    [InlineData(HttpStatusCode.TooManyRequests)]
    public async Task A_consume_a_proxy_answers_408_or_429_past_the_retries_is_waited_out_and_the_loop_goes_on(HttpStatusCode status)
    {
        // Arrange: a proxy in front of the broker throttles the first two consumes through all their retries.
        await DispatchAsync(new { queue_name = "throttled", body = "through once the proxy lets it" });
        var turnedAway = 0;
        App.BrokerRequest = request => request.RequestUri!.AbsolutePath == "/messages/consume" && Interlocked.Increment(ref turnedAway) <= 10
            ? new HttpResponseMessage(status) { Content = new StringContent("Slow down.", System.Text.Encoding.UTF8, "text/plain") }
            : null;

        // Act
        using var started = await Http.GetAsync("/listen?queue_name=throttled&wait_time=1");

        // Assert: the loop backs off as from a broker that is down, and still gets the message.
        await Eventually.ValueAsync(() => App.ProcessedBodies.Count, count => count == 1, "the message is processed once the consumes get through");
        App.Logs.Warnings.Should().Contain(w => w.Contains("could not consume", StringComparison.Ordinal))
            .And.NotContain(w => w.Contains("refused its consume", StringComparison.Ordinal));
    }
}
