using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using WonderQ.Shared.Client;
using WonderQ.Shared.Contracts;
using WonderQ.Shared.Validation;
using WonderQ.UserApp.Tests.Infrastructure;

namespace WonderQ.UserApp.Tests.Client;

public class BrokerClientTests
{
    [Theory]
    [InlineData(503)]
    [InlineData(500)]
    [InlineData(429)]
    [InlineData(408)]
    public async Task A_transient_failure_is_retried_until_the_call_succeeds(int status)
    {
        await using var broker = await FlakyBroker.FailingThenOkAsync(status, failures: 2, json: "[]");
        using var client = new TestBrokerClient(broker.Url);

        var queues = await client.Client.ListQueuesAsync();

        queues.Should().BeEmpty();
        broker.Attempts.Should().Be(3);
    }

    [Theory]
    [InlineData("30")]
    // A proxy or load balancer in front of the broker may send a date (RFC 9110) where the broker sends seconds. The
    // clock is years from the real one: a date read against that would wait years, or not at all.
    [InlineData("Mon, 21 Oct 2041 07:28:00 GMT")]
    public async Task A_503_is_retried_after_the_Retry_After_it_carries_not_the_client_backoff(string retryAfter)
    {
        await using var broker = await FlakyBroker.UnavailableOnceThenOkAsync(retryAfter, "[]");
        var clock = new TimerRecordingClock();
        clock.SetUtcNow(new DateTimeOffset(2041, 10, 21, 7, 27, 30, TimeSpan.Zero));
        using var client = new TestBrokerClient(
            broker.Url,
            new Dictionary<string, string?> { ["Broker:AttemptTimeout"] = "00:01:00", ["Broker:TotalTimeout"] = "00:05:00" },
            clock);

        using var stop = new CancellationTokenSource();
        var call = client.Client.ListQueuesAsync(stop.Token);
        try
        {
            // The client's own backoff would be 50 ms here, with jitter; the broker asked for 30 s.
            await Eventually.ValueAsync(
                () => string.Join(", ", clock.DueTimes),
                _ => clock.DueTimes.Contains(TimeSpan.FromSeconds(30)),
                "a retry timer of the 30 s the 503 asked for, or until the date it named",
                TimeSpan.FromSeconds(10));
            broker.Attempts.Should().Be(1);
            clock.Advance(TimeSpan.FromSeconds(30));
            (await call.WaitAsync(TimeSpan.FromSeconds(10))).Should().BeEmpty();
        }
        finally
        {
            // The client's disposal waits for calls in flight, and this one's clock stands still. Cancelled, the call
            // still needs this thread to finish, which the disposal would block: a client that failed to wait as asked
            // hung the test run rather than failed it.
            await stop.CancelAsync();
            await Task.WhenAny(call, Task.Delay(TimeSpan.FromSeconds(10)));
        }

        broker.Attempts.Should().Be(2);
    }

    [Theory]
    [InlineData(10, 5)]
    // As long as the call may take: the total timeout would cut that wait short too.
    [InlineData(1, 1)]
    public async Task A_503_asking_for_as_long_as_the_call_may_take_or_longer_is_not_retried_and_surfaces_as_busy(int retryAfterSeconds, int totalSeconds)
    {
        await using var broker = await FlakyBroker.UnavailableOnceThenOkAsync(seconds: retryAfterSeconds, json: "[]");
        // A clock that stands still: on the real one a loaded machine could run out the one-second attempt before the
        // 503 is read, and the retry that follows would find the broker answering.
        using var client = new TestBrokerClient(
            broker.Url,
            new Dictionary<string, string?>
            {
                ["Broker:AttemptTimeout"] = "00:00:01",
                ["Broker:TotalTimeout"] = TimeSpan.FromSeconds(totalSeconds).ToString(),
            },
            new TimerRecordingClock());

        // Bounded: a client that waited to retry would wait on that clock for ever.
        var act = () => client.Client.ListQueuesAsync().WaitAsync(TimeSpan.FromSeconds(10));

        var thrown = (await act.Should().ThrowAsync<BrokerUnavailableException>()).Which;
        thrown.AnsweredWith.Should().Be(HttpStatusCode.ServiceUnavailable, "the broker answered; it did not time out");
        broker.Attempts.Should().Be(1);
    }

    [Fact]
    public async Task A_503_asking_for_longer_than_the_call_has_left_is_not_retried_and_surfaces_as_busy()
    {
        // The 503 comes 8 s into a call of 10 s and asks for 5 s: less than the call's whole budget, more than is left.
        var clock = new TimerRecordingClock();
        await using var broker = await FlakyBroker.UnavailableOnceThenOkAsync(5, "[]", () => clock.Advance(TimeSpan.FromSeconds(8)));
        using var client = new TestBrokerClient(
            broker.Url,
            new Dictionary<string, string?> { ["Broker:AttemptTimeout"] = "00:00:10", ["Broker:TotalTimeout"] = "00:00:10" },
            clock);

        var call = client.Client.ListQueuesAsync();
        await Eventually.ValueAsync(
            () => string.Join(", ", clock.DueTimes),
            _ => call.IsCompleted || clock.DueTimes.Contains(TimeSpan.FromSeconds(5)),
            "the call ended, or waits for the 5 s the 503 asked for",
            TimeSpan.FromSeconds(10));
        // The call's end: a client that waited for the retry sees its total timeout run out meanwhile.
        clock.Advance(TimeSpan.FromSeconds(2));
        var act = () => call.WaitAsync(TimeSpan.FromSeconds(10));

        var thrown = (await act.Should().ThrowAsync<BrokerUnavailableException>()).Which;
        thrown.AnsweredWith.Should().Be(HttpStatusCode.ServiceUnavailable, "the broker answered busy; the call did not run out of time waiting");
        broker.Attempts.Should().Be(1);
    }

    [Fact]
    public async Task A_503_whose_Retry_After_date_lies_past_the_call_s_time_is_not_retried_and_surfaces_as_busy()
    {
        var clock = new TimerRecordingClock();
        clock.SetUtcNow(new DateTimeOffset(2041, 10, 21, 7, 27, 50, TimeSpan.Zero));
        await using var broker = await FlakyBroker.UnavailableOnceThenOkAsync("Mon, 21 Oct 2041 07:28:00 GMT", "[]");
        using var client = new TestBrokerClient(
            broker.Url,
            new Dictionary<string, string?> { ["Broker:AttemptTimeout"] = "00:00:05", ["Broker:TotalTimeout"] = "00:00:05" },
            clock);

        // Bounded: a client that waited to retry would wait on that clock for ever.
        var act = () => client.Client.ListQueuesAsync().WaitAsync(TimeSpan.FromSeconds(10));

        var thrown = (await act.Should().ThrowAsync<BrokerUnavailableException>()).Which;
        thrown.AnsweredWith.Should().Be(HttpStatusCode.ServiceUnavailable, "the broker answered busy for longer than the call may take");
        broker.Attempts.Should().Be(1);
    }

    [Fact]
    public async Task A_400_is_not_retried_and_surfaces_the_problem_detail()
    {
        await using var broker = await FlakyBroker.AlwaysAsync(400, "Name it properly.", errorsJson: """{"name": ["'name' is required."]}""");
        using var client = new TestBrokerClient(broker.Url);

        var act = () => client.Client.CreateQueueAsync("orders");

        var thrown = (await act.Should().ThrowAsync<BrokerException>()).Which;
        thrown.Should().NotBeOfType<BrokerUnavailableException>();
        thrown.Status.Should().Be(HttpStatusCode.BadRequest);
        thrown.Title.Should().Be("Failed on purpose.");
        thrown.Detail.Should().Be("Name it properly.");
        thrown.Errors.Should().ContainKey("name").WhoseValue.Should().Equal("'name' is required.");
        thrown.TraceId.Should().Be(FlakyBroker.TraceId);
        broker.Attempts.Should().Be(1);
    }

    /// <summary>The broker's word on the request itself: the same request gets the same answer, so a retry only waits.</summary>
    [Theory]
    [InlineData(409)] // a delete whose token another consumer's claim replaced, a name taken
    [InlineData(413)] // a body over the broker's limit, which a retry would upload again
    [InlineData(422)] // the broker's queue limit
    public async Task A_refusal_of_the_request_itself_is_not_retried(int status)
    {
        await using var broker = await FlakyBroker.AlwaysAsync(status, "Refused.");
        using var client = new TestBrokerClient(broker.Url);

        var act = () => client.Client.DeleteMessageAsync(5, "token");

        (await act.Should().ThrowAsync<BrokerException>()).Which.Status.Should().Be((HttpStatusCode)status);
        broker.Attempts.Should().Be(1);
    }

    [Fact]
    public async Task A_404_is_not_retried_and_find_answers_null()
    {
        await using var broker = await FlakyBroker.AlwaysAsync(404, "No such queue.");
        using var client = new TestBrokerClient(broker.Url);

        var queue = await client.Client.FindQueueAsync(QueueRef.ByName("missing"));

        queue.Should().BeNull();
        broker.Attempts.Should().Be(1);
    }

    [Fact]
    public async Task A_404_that_is_not_problem_json_is_not_the_broker_saying_no_such_queue()
    {
        await using var server = await NotABroker.StartAsync();
        using var client = new TestBrokerClient(server.Url, new Dictionary<string, string?> { ["Broker:MaxRetries"] = "2" });

        var act = () => client.Client.FindQueueAsync(QueueRef.ByName("orders"));

        var thrown = (await act.Should().ThrowAsync<BrokerException>()).Which;
        thrown.Should().NotBeOfType<BrokerUnavailableException>();
        thrown.Status.Should().Be(HttpStatusCode.BadGateway, "this app answers for whatever is at Broker:Url");
        thrown.Detail.Should().Contain(server.Url.GetLeftPart(UriPartial.Authority)).And.Contain("404").And.Contain("text/html").And.Contain("Broker:Url");
        server.Requests.Should().Be(1);
    }

    [Theory]
    [InlineData(408)]
    [InlineData(429)]
    public async Task A_proxys_408_or_429_page_is_retried_and_passed_on_as_such_not_taken_for_another_server(int status)
    {
        // What a proxy or rate limiter in front of the broker answers: the listener backs off from these and resumes,
        // where an answer from a server that is not the broker would end it.
        await using var server = await NotABroker.StartAsync(status);
        using var client = new TestBrokerClient(server.Url, new Dictionary<string, string?> { ["Broker:MaxRetries"] = "1", ["Broker:RetryBaseDelay"] = "00:00:00.001" });

        var act = () => client.Client.FindQueueAsync(QueueRef.ByName("orders"));

        var thrown = (await act.Should().ThrowAsync<BrokerException>()).Which;
        thrown.Should().NotBeOfType<BrokerAnswerNotRecognizedException>();
        ((int)thrown.Status).Should().Be(status);
        server.Requests.Should().Be(2, "one try and one retry");
    }

    [Theory]
    [InlineData("wq")]
    [InlineData("wq/")]
    public async Task A_broker_url_with_a_path_keeps_it_on_every_request(string prefix)
    {
        await using var broker = await FlakyBroker.FailingThenOkAsync(500, 0, "[]");
        using var client = new TestBrokerClient(new Uri(broker.Url, prefix));

        await client.Client.ListQueuesAsync();

        broker.LastTarget.Should().Be("/wq/queues", "a broker behind a path prefix is reached under it");
    }

    [Fact]
    public async Task A_5xx_that_persists_is_a_BrokerUnavailableException_after_the_retries()
    {
        await using var broker = await FlakyBroker.AlwaysAsync(503, "Down for maintenance.");
        using var client = new TestBrokerClient(broker.Url, new Dictionary<string, string?> { ["Broker:MaxRetries"] = "2" });

        var act = () => client.Client.ListQueuesAsync();

        var thrown = (await act.Should().ThrowAsync<BrokerUnavailableException>()).Which;
        thrown.Detail.Should().Be("Down for maintenance.");
        thrown.AnsweredWith.Should().Be(HttpStatusCode.ServiceUnavailable);
        thrown.TraceId.Should().Be(FlakyBroker.TraceId, "the last answer's");
        broker.Attempts.Should().Be(3);
    }

    [Fact]
    public async Task A_send_whose_answer_is_lost_again_is_not_tried_a_third_time_where_a_read_is()
    {
        // A proxy's error page for every attempt: the broker behind it may have stored each send it got.
        await using var broker = await FlakyBroker.AnsweringAsync(context =>
        {
            context.Response.StatusCode = 502;
            context.Response.ContentType = "text/html";
            return context.Response.WriteAsync("<html>502 Bad Gateway</html>");
        });
        using var client = new TestBrokerClient(broker.Url, new Dictionary<string, string?> { ["Broker:MaxRetries"] = "3", ["Broker:RetryMaxDelay"] = "00:00:00.100" });

        var send = () => client.Client.SendAsync(QueueRef.ByName("orders"), "hello");

        (await send.Should().ThrowAsync<BrokerUnavailableException>()).Which.AnswerMayBeLost.Should().BeTrue();
        broker.Attempts.Should().Be(2, "each attempt the broker gets stores the message again");

        var read = () => client.Client.ListQueuesAsync();

        await read.Should().ThrowAsync<BrokerUnavailableException>();
        broker.Attempts.Should().Be(2 + 4, "a read is harmless to repeat, and tried as often as Broker:MaxRetries allows");
    }

    [Fact]
    public async Task A_send_the_broker_answers_a_503_that_kept_nothing_is_retried_as_often_as_allowed_and_not_taken_for_stored()
    {
        // A SQLite commit that failed was rolled back, and the broker's 503 says so.
        await using var broker = await FlakyBroker.AnsweringAsync(context =>
        {
            context.Response.StatusCode = 503;
            context.Response.ContentType = "application/problem+json";
            return context.Response.WriteAsync("""{"status":503,"title":"The message store is unavailable.","detail":"The broker's disk is full.","committed":false}""");
        });
        using var client = new TestBrokerClient(broker.Url, new Dictionary<string, string?> { ["Broker:MaxRetries"] = "3", ["Broker:RetryMaxDelay"] = "00:00:00.100" });

        var send = () => client.Client.SendAsync(QueueRef.ByName("orders"), "hello");

        (await send.Should().ThrowAsync<BrokerUnavailableException>()).Which.Should().Match<BrokerUnavailableException>(
            e => !e.AnswerMayBeLost && e.Detail == "The broker's disk is full.");
        broker.Attempts.Should().Be(4);
    }

    [Fact]
    public async Task A_send_the_broker_answers_a_503_that_may_have_committed_is_tried_once_more_only()
    {
        // A PostgreSQL server lost during the commit: the broker cannot say it kept nothing.
        await using var broker = await FlakyBroker.AlwaysAsync(503, "The PostgreSQL database is unavailable. Try again shortly.");
        using var client = new TestBrokerClient(broker.Url, new Dictionary<string, string?> { ["Broker:MaxRetries"] = "3", ["Broker:RetryMaxDelay"] = "00:00:00.100" });

        var send = () => client.Client.SendAsync(QueueRef.ByName("orders"), "hello");

        var thrown = (await send.Should().ThrowAsync<BrokerUnavailableException>()).Which;
        thrown.AnswerMayBeLost.Should().BeTrue();
        thrown.Detail.Should().Be("The PostgreSQL database is unavailable. Try again shortly.", "the retries read the problem, and leave it whole for the caller");
        broker.Attempts.Should().Be(2);
    }

    [Fact]
    public async Task A_read_whose_answers_were_lost_is_not_said_to_have_done_anything()
    {
        await using var broker = await FlakyBroker.AlwaysAsync(502, "Bad gateway.");
        using var client = new TestBrokerClient(broker.Url, new Dictionary<string, string?> { ["Broker:MaxRetries"] = "1" });

        var read = () => client.Client.ListQueuesAsync();

        (await read.Should().ThrowAsync<BrokerUnavailableException>()).Which.AnswerMayBeLost.Should().BeFalse("a list does nothing that repeating it would do twice");
    }

    [Fact]
    public async Task Retries_wait_no_longer_than_RetryMaxDelay_each_and_not_in_step_at_it()
    {
        // Doubling from 200 ms with jitter and no cap, the later of six retries would wait seconds each; with Polly's
        // jitter and a cap, a wait that reached the cap was the cap itself (two to five of these six), so clients failed
        // by one broker restart tried again together. On a clock that moves only when told, so that a loaded machine
        // cannot make the waits look longer or shorter.
        await using var broker = await FlakyBroker.FailingThenOkAsync(500, failures: 6, json: "[]");
        var clock = new TimerRecordingClock();
        using var client = new TestBrokerClient(
            broker.Url,
            new Dictionary<string, string?>
            {
                ["Broker:MaxRetries"] = "6",
                ["Broker:RetryBaseDelay"] = "00:00:00.200",
                ["Broker:RetryMaxDelay"] = "00:00:00.300",
                ["Broker:AttemptTimeout"] = "00:10:00",
                ["Broker:TotalTimeout"] = "00:30:00",
            },
            clock);

        var call = client.Client.ListQueuesAsync();
        var waited = Stopwatch.StartNew();
        while (!call.IsCompleted && waited.Elapsed < TimeSpan.FromSeconds(30))
        {
            clock.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(10);
        }

        (await call.WaitAsync(TimeSpan.FromSeconds(10))).Should().BeEmpty();
        broker.Attempts.Should().Be(7);
        // The timeouts' timers are minutes long; the retries' are the rest.
        var waits = clock.DueTimes.Where(due => due > TimeSpan.Zero && due < TimeSpan.FromMinutes(1)).ToList();
        waits.Should().HaveCount(6).And.OnlyContain(due => due <= TimeSpan.FromMilliseconds(300), "six waits of at most 0.3 s");
        waits.Should().OnlyContain(due => due >= TimeSpan.FromMilliseconds(100), "each waits at least half its doubled delay");
        waits.Should().NotContain(TimeSpan.FromMilliseconds(300), "a wait of the cap itself is the one every client failed together waits");
    }

    [Fact]
    public async Task A_refused_connection_is_a_BrokerUnavailableException_after_the_retries()
    {
        using var client = new TestBrokerClient(FreePort.Url(FreePort.Next()), new Dictionary<string, string?> { ["Broker:MaxRetries"] = "2" });

        var act = () => client.Client.ListQueuesAsync();

        var thrown = (await act.Should().ThrowAsync<BrokerUnavailableException>()).Which;
        thrown.Status.Should().Be(HttpStatusCode.ServiceUnavailable);
        thrown.Detail.Should().Contain("refused");
        thrown.InnerException.Should().BeOfType<HttpRequestException>();
        thrown.AnsweredWith.Should().BeNull("nothing answered");
    }

    [Fact]
    public async Task A_connection_reset_before_the_answer_is_said_to_be_reset_not_an_unknown_failure()
    {
        // As a broker killed mid-request leaves it: the request is read, and the connection reset instead of answered.
        await using var broker = await FlakyBroker.AnsweringAsync(context =>
        {
            context.Abort();
            return Task.CompletedTask;
        });
        using var client = new TestBrokerClient(broker.Url, new Dictionary<string, string?> { ["Broker:MaxRetries"] = "0" });

        var act = () => client.Client.ListQueuesAsync();

        var thrown = (await act.Should().ThrowAsync<BrokerUnavailableException>()).Which;
        thrown.Detail.Should().Contain("did not answer: the connection was refused, reset or closed").And.NotContain("Unknown");
    }

    [Fact]
    public async Task A_connection_closed_before_the_answer_is_said_as_a_reset_one_is()
    {
        // As a broker stopping mid-request can leave it: the request is read, and the connection closed unanswered. Said
        // in other words than a reset's, the one outage was warned of anew each time a call met the other. (HttpClient
        // tries a request again on a new connection closed so, a few times, before it gives up.)
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var stop = new CancellationTokenSource();
        var closing = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var connection = await listener.AcceptSocketAsync(stop.Token);
                var head = "";
                var buffer = new byte[4096];
                while (!head.Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    head += System.Text.Encoding.ASCII.GetString(buffer, 0, await connection.ReceiveAsync(buffer));
                }

                connection.Shutdown(System.Net.Sockets.SocketShutdown.Both);
            }
        });
        using var client = new TestBrokerClient(FreePort.Url(((IPEndPoint)listener.LocalEndpoint).Port), new Dictionary<string, string?> { ["Broker:MaxRetries"] = "0" });

        var act = () => client.Client.ListQueuesAsync();

        var thrown = (await act.Should().ThrowAsync<BrokerUnavailableException>()).Which;
        thrown.InnerException.Should().BeOfType<HttpRequestException>().Which.HttpRequestError.Should().Be(HttpRequestError.ResponseEnded);
        thrown.Detail.Should().Contain("did not answer: the connection was refused, reset or closed");
        await stop.CancelAsync();
        await closing.ContinueWith(_ => { }, TaskScheduler.Default);
    }

    [Fact]
    public async Task A_send_whose_next_backoff_would_outlast_the_call_is_not_retried_and_is_not_said_to_be_stored()
    {
        // Every try refused, so none reached a broker; the first wait (four to eight seconds) reaches past the call's
        // three whatever its jitter, so the outcome does not hang on how long the tries take on a busy machine. The total
        // timeout cutting that wait short read as a broker that did not answer in time, and so as a send it may have stored.
        using var client = new TestBrokerClient(FreePort.Url(FreePort.Next()), new Dictionary<string, string?>
        {
            ["Broker:MaxRetries"] = "6",
            ["Broker:AttemptTimeout"] = "00:00:01",
            ["Broker:TotalTimeout"] = "00:00:03",
            ["Broker:RetryBaseDelay"] = "00:00:08",
            ["Broker:RetryMaxDelay"] = "00:00:08",
        });

        var act = () => client.Client.SendAsync(QueueRef.ByName("orders"), "hello");

        var thrown = (await act.Should().ThrowAsync<BrokerUnavailableException>()).Which;
        thrown.Detail.Should().Contain("refused", "what the last try met, not the call's timeout");
        thrown.InnerException.Should().BeOfType<HttpRequestException>();
        thrown.AnswerMayBeLost.Should().BeFalse("no try reached a broker");
    }

    [Fact]
    public async Task A_slow_attempt_is_cut_off_by_the_attempt_timeout_and_retried()
    {
        await using var broker = await FlakyBroker.SlowAsync(TimeSpan.FromSeconds(30), "[]");
        using var client = new TestBrokerClient(broker.Url, new Dictionary<string, string?>
        {
            ["Broker:AttemptTimeout"] = "00:00:00.300",
            ["Broker:TotalTimeout"] = "00:00:20",
            ["Broker:MaxRetries"] = "1",
        });
        var clock = Stopwatch.StartNew();

        var act = () => client.Client.ListQueuesAsync();

        (await act.Should().ThrowAsync<BrokerUnavailableException>()).Which.Detail.Should().Contain("timed out");
        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(15), "two 0.3 s attempts end long before the endpoint would answer");
        await Eventually.ValueAsync(() => broker.Attempts, attempts => attempts == 2, "the endpoint saw both attempts", TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_long_poll_waiting_longer_than_the_attempt_timeout_is_not_cut_off()
    {
        // The endpoint answers after 2 s, four times the attempt timeout but within the poll's 3 s wait_time.
        var answer = new TaskCompletionSource();
        await using var broker = await FlakyBroker.HoldingAsync(answer.Task, "[]");
        var clock = new FakeTimeProvider();
        using var client = new TestBrokerClient(
            broker.Url,
            new Dictionary<string, string?> { ["Broker:AttemptTimeout"] = "00:00:00.500", ["Broker:TotalTimeout"] = "00:00:01" },
            clock);

        var messages = await AnsweredTwoSecondsOnAsync(
            stop => client.Client.ConsumeAsync(QueueRef.ByName("orders"), size: 1, waitTimeSeconds: 3, cancellationToken: stop), broker, clock, answer);

        messages.Should().BeEmpty();
        broker.Attempts.Should().Be(1);
    }

    [Fact]
    public async Task A_long_poll_longer_than_the_app_s_own_Limits_allow_is_not_cut_off()
    {
        // The broker allows longer polls than this app's Limits:MaxWaitTimeSeconds, which an app of the client's that
        // sets none leaves at 20 s: the endpoint answers after 2 s, within the poll's 3 s wait_time.
        var answer = new TaskCompletionSource();
        await using var broker = await FlakyBroker.HoldingAsync(answer.Task, "[]");
        var clock = new FakeTimeProvider();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Broker:Url"] = broker.Url.ToString(),
            ["Broker:AttemptTimeout"] = "00:00:00.500",
            ["Broker:TotalTimeout"] = "00:00:01",
        }).Build());
        services.AddLogging();
        services.AddSingleton<TimeProvider>(clock);
        services.Configure<LimitsOptions>(limits => limits.MaxWaitTimeSeconds = 0);
        services.AddBrokerClient();
        await using var provider = services.BuildServiceProvider();

        var messages = await AnsweredTwoSecondsOnAsync(
            stop => provider.GetRequiredService<BrokerClient>().ConsumeAsync(QueueRef.ByName("orders"), size: 1, waitTimeSeconds: 3, cancellationToken: stop),
            broker,
            clock,
            answer);

        messages.Should().BeEmpty();
        broker.Attempts.Should().Be(1);
    }

    [Fact]
    public async Task A_long_poll_left_to_the_broker_s_default_wait_is_not_cut_off()
    {
        // No wait_time sent: the broker waits its default, at most Limits:MaxWaitTimeSeconds (20 s here), and the
        // endpoint answers after 2 s, four times the attempt timeout.
        var answer = new TaskCompletionSource();
        await using var broker = await FlakyBroker.HoldingAsync(answer.Task, "[]");
        var clock = new FakeTimeProvider();
        using var client = new TestBrokerClient(
            broker.Url,
            new Dictionary<string, string?> { ["Broker:AttemptTimeout"] = "00:00:00.500", ["Broker:TotalTimeout"] = "00:00:01" },
            clock);

        var messages = await AnsweredTwoSecondsOnAsync(
            stop => client.Client.ConsumeAsync(QueueRef.ByName("orders"), cancellationToken: stop), broker, clock, answer);

        messages.Should().BeEmpty();
        broker.LastTarget.Should().NotContain("wait_time");
        broker.Attempts.Should().Be(1);
    }

    /// <summary>
    /// The <paramref name="call"/>'s answer, which the endpoint holds while the client's clock moves 2 s on: past the
    /// client's timeouts unless a long poll's wait stretches them.
    /// </summary>
    private static async Task<T> AnsweredTwoSecondsOnAsync<T>(
        Func<CancellationToken, Task<T>> call, FlakyBroker broker, FakeTimeProvider clock, TaskCompletionSource answer)
    {
        using var stop = new CancellationTokenSource();
        var answered = call(stop.Token);
        try
        {
            await Eventually.ValueAsync(() => broker.Attempts, attempts => attempts == 1, "the poll reaches the endpoint");
            clock.Advance(TimeSpan.FromSeconds(2));
            answer.SetResult();
            return await answered.WaitAsync(TimeSpan.FromSeconds(10));
        }
        finally
        {
            // A call cut off waits to retry on a clock that then stands still, and the client's disposal would wait
            // for it: the test would hang rather than fail.
            await stop.CancelAsync();
            await Task.WhenAny(answered, Task.Delay(TimeSpan.FromSeconds(10)));
        }
    }

    /// <summary>A fake clock that notes how far ahead each of its timers was set.</summary>
    private sealed class TimerRecordingClock : FakeTimeProvider
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<TimeSpan> _dueTimes = new();

        public IReadOnlyCollection<TimeSpan> DueTimes => _dueTimes;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            _dueTimes.Enqueue(dueTime);
            return base.CreateTimer(callback, state, dueTime, period);
        }
    }
}
