using System.Net;
using System.Text.Json;
using WonderQ.Shared.Contracts;
using WonderQ.Shared.Web;
using WonderQ.UserApp.Tests.Infrastructure;

namespace WonderQ.UserApp.Tests.Listen;

/// <summary>
/// How a listening loop ends other than by a plain stop (cut short in its grace, or refused for good by the broker), and
/// what it waits out instead of ending.
/// </summary>
public sealed class LoopEndTests : UserAppTestBase
{
    // What the loop waits out, it waits on this clock: a broker refusing it four times is no longer seconds of backoff.
    private readonly ShortWaitsClock _clock = new();

    protected override TimeProvider? Clock => _clock;

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
            () => string.Join(" | ", App.Logs.Lines), warnings => warnings.Contains("not deleted", StringComparison.Ordinal), "a warning says so");
        (await QueueSizeAsync("grace")).Should().Be(1);
    }

    [Fact]
    public async Task A_consume_the_broker_refuses_for_good_ends_the_loop_with_an_error_instead_of_retrying_for_ever()
    {
        // Arrange: the broker no longer allows the loop's settings (its limit lowered since the loop started).
        await DispatchAsync(new { queue_name = "refused", body = "waits for settings the broker allows" });
        App.BrokerRequest = request => IsConsume(request)
            ? Problem(HttpStatusCode.BadRequest, """{"status":400,"title":"Bad request.","detail":"'visibility_timeout' must be at most 10."}""")
            : null;

        // Act
        using var started = await Http.GetAsync("/listen?queue_name=refused&wait_time=1");

        // Assert: the loop leaves the listing, and says why once.
        started.StatusCode.Should().Be(HttpStatusCode.Accepted);
        await Eventually.ValueAsync(() => Http.GetStringAsync("/listeners"), listeners => listeners == "[]", "no listener is left");
        App.Logs.Lines.Should().ContainSingle(w => w.Contains("refused its consume (400)", StringComparison.Ordinal));
        App.ProcessedBodies.Should().BeEmpty();
    }

    [Theory]
    [InlineData(HttpStatusCode.Unauthorized, "Send 'Authorization: Bearer <key>'.", "requires an API key (401)")]
    [InlineData(HttpStatusCode.Forbidden, "Not allowed.", "requires an API key (403)")]
    [InlineData(HttpStatusCode.BadRequest, AllowedHostNames.RefusalPrefix + "127.0.0.1 (Host): call it by a name in its AllowedHosts setting, or add that name there.", "does not answer the name 127.0.0.1")]
    public async Task A_broker_that_refuses_the_app_itself_is_waited_out_and_the_loop_goes_on(HttpStatusCode status, string detail, string said)
    {
        // Arrange: the broker refuses the app's first four consumes, until its operator fixes its settings.
        await DispatchAsync(new { queue_name = "refused-app", body = "through once the broker takes the app" });
        var turnedAway = 0;
        var body = JsonSerializer.Serialize(new { status = (int)status, title = "Refused.", detail });
        var consumedAt = new System.Collections.Concurrent.ConcurrentQueue<DateTimeOffset>();
        App.BrokerRequest = request =>
        {
            if (!IsConsume(request))
            {
                return null;
            }

            consumedAt.Enqueue(_clock.GetUtcNow());
            return Interlocked.Increment(ref turnedAway) <= 4 ? Problem(status, body) : null;
        };

        // Act
        using var started = await Http.GetAsync("/listen?queue_name=refused-app&wait_time=1");

        // Assert: the loop backs off as from a broker that is down, and gets the message; the refusal is an error once,
        // and the loop's own line once, not one per attempt.
        await Eventually.ValueAsync(() => App.ProcessedBodies.Count, count => count == 1, "the message is processed once the broker takes the app");
        turnedAway.Should().BeGreaterThan(4);
        // 200 ms after the first refusal, doubling up to the 1 s cap, each shortened by up to a quarter.
        var times = consumedAt.Take(5).ToList();
        var gaps = times.Zip(times.Skip(1), (before, after) => after - before).ToList();
        gaps.Should().SatisfyRespectively(
            first => first.Should().BeCloseTo(TimeSpan.FromMilliseconds(175), TimeSpan.FromMilliseconds(25)),
            second => second.Should().BeCloseTo(TimeSpan.FromMilliseconds(350), TimeSpan.FromMilliseconds(50)),
            third => third.Should().BeCloseTo(TimeSpan.FromMilliseconds(700), TimeSpan.FromMilliseconds(100)),
            fourth => fourth.Should().BeCloseTo(TimeSpan.FromMilliseconds(875), TimeSpan.FromMilliseconds(125)));
        App.Logs.Lines.Where(w => w.Contains(said, StringComparison.Ordinal)).Should().HaveCount(2)
            .And.ContainSingle(w => w.StartsWith("The broker at", StringComparison.Ordinal))
            .And.ContainSingle(w => w.Contains("could not consume", StringComparison.Ordinal));
        App.Logs.Lines.Should().NotContain(w => w.Contains("refused its consume", StringComparison.Ordinal));
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
        App.Logs.Lines.Should().ContainSingle().Which.Should().Contain("dropped (" + queue.Id + ") no longer exists");
    }

    [Fact]
    public async Task A_queue_deleted_between_consumes_ends_the_loop_with_one_warning_rather_than_being_waited_out()
    {
        // Arrange: a loop that has drained its queue and polls it.
        var queue = (await DispatchAsync(new { queue_name = "gone", body = "before" })).Queue;
        using var started = await Http.GetAsync("/listen?queue_name=gone&wait_time=1");
        await Eventually.ValueAsync(() => App.ProcessedBodies.Count, count => count == 1, "the message is processed");

        // Act
        (await BrokerClient.Client.DeleteQueueAsync(QueueRef.ById(queue.Id))).Should().BeTrue();

        // Assert
        await Eventually.ValueAsync(() => Http.GetStringAsync("/listeners"), listeners => listeners == "[]", "no listener is left");
        App.Logs.Lines.Should().ContainSingle().Which.Should().Contain("gone (" + queue.Id + ") no longer exists");
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
        App.Logs.Lines.Should().Contain(w => w.Contains("could not consume", StringComparison.Ordinal))
            .And.NotContain(w => w.Contains("refused its consume", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("[null]")]
    [InlineData("""[{"id":1}]""")]
    public async Task A_consume_answered_with_json_that_holds_no_message_is_waited_out_and_the_loop_goes_on(string answer)
    {
        // Arrange: the first two consumes are answered, before the broker, with well-formed JSON that holds no message.
        await DispatchAsync(new { queue_name = "no-message", body = "through once the broker answers" });
        var turnedAway = 0;
        App.BrokerRequest = request => IsConsume(request) && Interlocked.Increment(ref turnedAway) <= 2
            ? new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(answer, System.Text.Encoding.UTF8, "application/json") }
            : null;

        // Act
        using var started = await Http.GetAsync("/listen?queue_name=no-message&wait_time=1");

        // Assert: the loop backs off as from an answer it cannot read, rather than stop on a null or print a body that is
        // not there.
        await Eventually.ValueAsync(() => App.ProcessedBodies.Count, count => count == 1, "the message is processed once the broker's own answer comes");
        App.ProcessedBodies.Should().Equal("through once the broker answers");
        App.Logs.Lines.Should().Contain(w => w.Contains("could not consume", StringComparison.Ordinal));
    }

    private static bool IsConsume(HttpRequestMessage request) => request.RequestUri!.AbsolutePath == "/messages/consume";

    private static HttpResponseMessage Problem(HttpStatusCode status, string json) => new(status)
    {
        Content = new StringContent(json, System.Text.Encoding.UTF8, "application/problem+json"),
    };
}
