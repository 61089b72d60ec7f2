using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.Time.Testing;
using WonderQ.Shared.Json;
using WonderQ.UserApp.Tests.Infrastructure;

namespace WonderQ.UserApp.Tests.Listen;

/// <summary>What a listening loop does, and tells the operator, about a broker that stays down through many of its retries.</summary>
public sealed class OutageLogTests : UserAppTestBase
{
    // Each failed consume is one attempt of the loop's, not of the client's retries within it.
    protected override IDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Broker:MaxRetries"] = "0",
    };

    [Fact]
    public async Task A_broker_busy_through_several_retries_is_one_warning_not_one_per_retry()
    {
        // Arrange: the broker answers the first four consumes 503; the loop's backoffs pass at once.
        await using var app = new UserAppFactory(Broker.Url, Settings, new ShortWaitsClock());
        using var http = app.CreateClient();
        await DispatchAsync(new { queue_name = "outage", body = "through once the broker answers" });
        var turnedAway = 0;
        app.BrokerRequest = request => IsConsume(request) && Interlocked.Increment(ref turnedAway) <= 4 ? StoreUnavailable() : null;

        // Act
        using var started = await http.GetAsync("/listen?queue_name=outage&wait_time=1");

        // Assert
        await Eventually.ValueAsync(() => app.ProcessedBodies.Count, count => count == 1, "the message is processed once the broker answers");
        turnedAway.Should().BeGreaterThan(4, "the loop retried through the outage");
        app.Logs.Lines.Should().ContainSingle(w => w.Contains("could not consume", StringComparison.Ordinal))
            .Which.Should().MatchRegex(@"Retrying in \d+(\.\d\d?)? s, ", "the pause is said in seconds, not as a raw TimeSpan");
    }

    [Fact]
    public async Task An_outage_after_the_loop_resumed_is_counted_afresh()
    {
        // Arrange: an outage of two consumes, which the loop waits out (at once, on this clock) and resumes after.
        await using var app = new UserAppFactory(Broker.Url, Settings, new ShortWaitsClock());
        using var http = app.CreateClient();
        await DispatchAsync(new { queue_name = "twice", body = "between the outages" });
        var toTurnAway = 2;
        app.BrokerRequest = request => IsConsume(request) && Interlocked.Decrement(ref toTurnAway) >= 0 ? StoreUnavailable() : null;
        using var started = await http.GetAsync("/listen?queue_name=twice&wait_time=1");
        await Eventually.ValueAsync(() => app.ProcessedBodies.Count, count => count == 1, "the message is processed once the broker answers");

        // Act: a second outage, of one consume.
        Interlocked.Exchange(ref toTurnAway, 1);

        // Assert: it starts from the first failure again, with the first, shortest pause, not where the last one ended.
        var outages = await Eventually.ValueAsync(
            () => app.Logs.Lines.Where(w => w.Contains("could not consume", StringComparison.Ordinal)).ToList(),
            warnings => warnings.Count == 2,
            "each outage is warned of");
        outages.Should().AllSatisfy(w => w.Should().Contain("(1 in a row)"));
    }

    [Fact]
    public async Task A_broker_that_cannot_take_acknowledgements_mid_batch_is_waited_out_before_the_rest_is_printed()
    {
        // Arrange: a batch of three, and a broker that answers every acknowledgement 503 until it recovers.
        foreach (var body in new[] { "first", "second", "third" })
        {
            (await DispatchAsync(new { queue_name = "stalled", body })).Failed.Should().BeEmpty();
        }

        var recovered = false;
        var refused = new System.Collections.Concurrent.ConcurrentBag<string>();
        App.BrokerRequest = request =>
        {
            if (!UserAppFactory.IsAcknowledgement(request) || Volatile.Read(ref recovered))
            {
                return null;
            }

            refused.Add(request.RequestUri!.AbsolutePath);
            return StoreUnavailable();
        };

        // Act
        using var started = await Http.GetAsync("/listen?queue_name=stalled&size=3&wait_time=1&visibility_timeout=600");
        await Eventually.ValueAsync(() => refused.Count, count => count >= 3, "the first acknowledgement is refused again and again");

        // Assert: while no acknowledgement gets through, nothing more is printed, as it would all be delivered again.
        App.ProcessedBodies.Should().Equal(["first"], "the rest of the batch waits for the broker");
        refused.Distinct().Should().ContainSingle("only the printed message's acknowledgement is retried");
        App.Logs.Lines.Should().ContainSingle(w => w.Contains("could not delete message", StringComparison.Ordinal))
            .Which.Should().MatchRegex(@"Retrying in \d+(\.\d\d?)? s, ", "the pause is said in seconds, not as a raw TimeSpan");

        // Act: the broker recovers long before the reservations run out.
        Volatile.Write(ref recovered, true);

        // Assert: each message printed once and deleted, none left to be delivered and printed again.
        await Eventually.ValueAsync(() => QueueSizeAsync("stalled"), size => size == 0, "every message is acknowledged");
        App.ProcessedBodies.Should().Equal(["first", "second", "third"]);
    }

    [Fact]
    public async Task An_acknowledgement_whose_answer_was_lost_and_that_the_loop_tried_again_is_no_message_already_gone()
    {
        // Arrange: the broker deletes the first message, and its answer is lost on the way (a proxy's 502); with no
        // retries of the client's, the loop's own next try reads 404.
        foreach (var body in new[] { "first", "second" })
        {
            (await DispatchAsync(new { queue_name = "lost-ack", body })).Failed.Should().BeEmpty();
        }

        var lost = 0;
        App.BrokerRequest = request =>
        {
            if (!UserAppFactory.IsAcknowledgement(request) || Interlocked.Exchange(ref lost, 1) != 0)
            {
                return null;
            }

            using var done = BrokerClient.Client.DeleteMessageAsync(
                long.Parse(request.RequestUri!.Segments[^1], System.Globalization.CultureInfo.InvariantCulture));
            done.GetAwaiter().GetResult().Should().BeTrue();
            return new HttpResponseMessage(HttpStatusCode.BadGateway)
            {
                Content = new StringContent("<html><body>502 Bad Gateway</body></html>", System.Text.Encoding.UTF8, "text/html"),
            };
        };

        // Act
        using var started = await Http.GetAsync("/listen?queue_name=lost-ack&size=1&wait_time=1");

        // Assert: the second is printed only once the first's acknowledgement is settled.
        await Eventually.ValueAsync(() => App.ProcessedBodies.Count, count => count == 2, "both messages are processed");
        await Eventually.ValueAsync(() => QueueSizeAsync("lost-ack"), size => size == 0, "both messages are acknowledged");
        App.ProcessedBodies.Should().Equal(["first", "second"]);
        Volatile.Read(ref lost).Should().Be(1, "the first acknowledgement's answer was lost");
        App.Logs.Lines.Should().NotContain(w => w.Contains("already gone", StringComparison.Ordinal), "the loop's own first try deleted it");
    }

    [Fact]
    public async Task A_failed_consume_is_followed_by_the_loops_backoff_not_by_another_consume_at_once()
    {
        // Arrange: the app on a clock of the test's own, and a broker that answers its first two consumes 503.
        var clock = new BackoffRecordingClock();
        await using var app = new UserAppFactory(Broker.Url, Settings, clock);
        using var http = app.CreateClient();
        using (var dispatched = await http.PostAsJsonAsync("/dispatch", new { queue_name = "backing-off", body = "after two backoffs" }, WonderQJson.Options))
        {
            dispatched.EnsureSuccessStatusCode();
        }

        var consumes = 0;
        app.BrokerRequest = request => IsConsume(request) && Interlocked.Increment(ref consumes) <= 2 ? StoreUnavailable() : null;

        // Act
        using var started = await http.GetAsync("/listen?queue_name=backing-off&wait_time=1");

        // Assert: each failure is followed by a pause of the loop's backoff (200 ms here, doubling, shortened by up to a
        // quarter), and while the clock stands still no consume goes out: a loop that asked again at once would spin
        // against a broker that is down.
        await Eventually.TrueAsync(() => clock.Backoffs.Count > 0, "the loop's first consume is refused, and it backs off");
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        Volatile.Read(ref consumes).Should().Be(1, "the loop waits out its backoff instead of asking again at once");
        clock.Backoffs.Should().ContainSingle("one failure, one backoff").Which.Should()
            .BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(150)).And.BeLessThanOrEqualTo(TimeSpan.FromMilliseconds(200));

        clock.Advance(TimeSpan.FromMilliseconds(200));
        await Eventually.TrueAsync(() => clock.Backoffs.Count == 2, "the second failed consume starts a longer backoff");
        Volatile.Read(ref consumes).Should().Be(2);
        clock.Backoffs.Last().Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(300)).And.BeLessThanOrEqualTo(TimeSpan.FromMilliseconds(400));

        clock.Advance(TimeSpan.FromMilliseconds(400));
        await Eventually.ValueAsync(() => app.ProcessedBodies.Count, count => count == 1, "the message is processed once the broker answers");
    }

    private static bool IsConsume(HttpRequestMessage request) => request.RequestUri!.AbsolutePath == "/messages/consume";

    private static HttpResponseMessage StoreUnavailable() => new(HttpStatusCode.ServiceUnavailable)
    {
        Content = new StringContent(
            """{"status":503,"title":"The message store is unavailable.","detail":"The broker could not reach its storage. Try again shortly."}""",
            System.Text.Encoding.UTF8,
            "application/problem+json"),
    };

    /// <summary>
    /// A fake clock that records the timers set for less than a second: the loop's backoffs here (the client's
    /// timeouts run for seconds, and the loop's idle pause for exactly one).
    /// </summary>
    private sealed class BackoffRecordingClock() : FakeTimeProvider(DateTimeOffset.UtcNow)
    {
        private readonly ConcurrentQueue<TimeSpan> _backoffs = new();

        public IReadOnlyCollection<TimeSpan> Backoffs => _backoffs;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            if (dueTime > TimeSpan.Zero && dueTime < TimeSpan.FromSeconds(1))
            {
                _backoffs.Enqueue(dueTime);
            }

            return base.CreateTimer(callback, state, dueTime, period);
        }
    }
}
