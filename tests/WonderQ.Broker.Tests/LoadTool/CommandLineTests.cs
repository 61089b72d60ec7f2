using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using WonderQ.LoadTest;

namespace WonderQ.Broker.Tests.LoadTool;

/// <summary>
/// The load tool's command line as a user meets it: its exit code, its one-line refusals on stderr and its
/// <c>--json</c> on stdout, the tool run as a process against a real broker.
/// </summary>
public sealed class CommandLineTests(KestrelBroker broker) : IClassFixture<KestrelBroker>
{
    private string Url => broker.Url.ToString().TrimEnd('/');

    [Theory]
    [InlineData("produce", "--consumers", "4", "--consumers does not apply to produce; it applies to consume, cycle, latency.")]
    [InlineData("cycle", "--rate", "100", "--rate does not apply to cycle; it applies to latency, idle-waiters.")]
    public async Task An_option_the_scenario_does_not_read_is_refused_before_any_traffic(string scenario, string option, string value, string refusal)
    {
        // --keep-queue: a run that went ahead would leave its queue behind to see.
        var run = await LoadToolProcess.RunAsync(scenario, option, value, "--url", Url, "--duration", "0.5", "--producers", "2", "--keep-queue", "--quiet");

        run.ExitCode.Should().Be(2, run.Error);
        run.Error.Split('\n')[0].Should().Be(refusal);
        run.Output.Should().BeEmpty();
        (await QueueNamesAsync()).Should().NotContain(name => name.StartsWith($"load-{scenario}-", StringComparison.Ordinal), "nothing was sent");
    }

    [Theory]
    [InlineData("burst", "--concurrency")]
    [InlineData("idle-waiters", "--waiters")]
    public async Task More_connections_than_the_process_may_open_files_are_refused_before_any_traffic_not_a_crash(string scenario, string option)
    {
        // Past the limit the runtime aborted the tool ("Out of memory.", exit code 134) with no report, its queue left behind.
        var run = await LoadToolProcess.RunWithOpenFileLimitAsync(
            1_000, scenario, option, "1200", "--url", Url, "--duration", "0.5", "--keep-queue", "--quiet");

        run.ExitCode.Should().Be(2, run.Error);
        run.Error.Split('\n')[0].Should().StartWith($"{scenario} may open 1,2").And.Contain("this process may have only 1,000 files open (ulimit -n)");
        (await QueueNamesAsync()).Should().NotContain(name => name.StartsWith($"load-{scenario}-", StringComparison.Ordinal), "nothing was sent");
    }

    [Fact]
    public async Task Options_given_as_name_equals_value_take_effect()
    {
        var run = await LoadToolProcess.RunAsync("produce", $"--url={Url}", "--producers=2", "--messages=20", "--body-bytes=100", "--json", "--quiet");

        run.ExitCode.Should().Be(0, run.Error);
        using var json = JsonDocument.Parse(run.Output);
        json.RootElement.GetProperty("url").GetString().Should().Be(Url + "/");
        var parameters = json.RootElement.GetProperty("parameters");
        (parameters.GetProperty("producers").GetInt32(), parameters.GetProperty("body_bytes").GetInt32()).Should().Be((2, 100));
        json.RootElement.GetProperty("verification").GetProperty("acknowledged").GetInt64().Should().Be(20);
    }

    [Fact]
    public async Task A_server_that_cannot_be_reached_still_gets_json_that_says_the_run_failed_and_why()
    {
        var closed = $"http://127.0.0.1:{FreePort.Next()}";

        var run = await LoadToolProcess.RunAsync("produce", "--url", closed, "--duration", "0.5", "--json", "--quiet");

        run.ExitCode.Should().Be(2, run.Error);
        using var json = JsonDocument.Parse(run.Output);
        json.RootElement.GetProperty("scenario").GetString().Should().Be("produce");
        json.RootElement.GetProperty("url").GetString().Should().Be(closed + "/");
        json.RootElement.GetProperty("passed").GetBoolean().Should().BeFalse();
        json.RootElement.GetProperty("result").GetString().Should().Be("NOT RUN");
        json.RootElement.GetProperty("error").GetString().Should().StartWith($"could not run against {closed}/: POST /queues: ");
    }

    [Fact]
    public async Task A_queue_the_server_refuses_to_create_gets_json_naming_the_refusal()
    {
        // The broker refuses an all-digit queue name: it would read as an id.
        var run = await LoadToolProcess.RunAsync("produce", "--url", Url, "--queue", "12345", "--duration", "0.5", "--json", "--quiet");

        run.ExitCode.Should().Be(2, run.Error);
        using var json = JsonDocument.Parse(run.Output);
        json.RootElement.GetProperty("result").GetString().Should().Be("NOT RUN");
        json.RootElement.GetProperty("error").GetString().Should().Contain("POST /queues answered 400");
    }

    // With a warm-up too: it runs on a queue of its own, and a refusal after it (up to 20,000 messages sent and drained)
    // would be time wasted. Without --quiet, so that stderr would show the warm-up had it begun.
    [Theory]
    [InlineData("0")]
    [InlineData("120")]
    public async Task A_drain_of_a_queue_that_holds_nothing_is_refused_at_once_rather_than_passed_at_0_msgs_per_second(string warmup)
    {
        var queue = $"empty-backlog-{warmup}";
        using (var http = broker.CreateClient())
        {
            (await http.PostAsJsonAsync("/queues", new { name = queue })).EnsureSuccessStatusCode();
        }

        var run = await LoadToolProcess.RunAsync("consume", "--url", Url, "--queue", queue, "--no-fill", "--messages", "1000000", "--duration", "2", "--warmup", warmup);

        run.ExitCode.Should().Be(2, run.Output);
        run.Output.Should().NotContain("result PASS");
        run.Error.Split('\n')[0].Should().Be(
            $"The load test could not run against {Url}/: --no-fill drains what the queue '{queue}' holds, and it holds no messages: fill it first, or leave out --no-fill.");
    }

    [Theory]
    [InlineData("0")]
    [InlineData("120")]
    public async Task A_drain_of_a_queue_that_does_not_exist_is_refused_at_once_naming_it_and_creates_nothing(string warmup)
    {
        var run = await LoadToolProcess.RunAsync("consume", "--url", Url, "--queue", "no-such-backlog", "--no-fill", "--messages", "1000000", "--duration", "2", "--warmup", warmup);

        run.ExitCode.Should().Be(2, run.Output);
        run.Error.Split('\n')[0].Should().Be(
            $"The load test could not run against {Url}/: --no-fill drains what the queue 'no-such-backlog' holds, and the server has no queue by that name: check the name (nothing was created).");
        (await QueueNamesAsync()).Should().NotContain("no-such-backlog", "a mistyped name left an empty queue behind");
    }

    [Theory]
    [InlineData("an HTTP/1.1 broker", true)]
    // Kestrel on an HTTP/1.1 port answers with GOAWAY and hangs up; when that lands before the first request has its
    // stream, HttpClient reports no protocol error but "Unknown" or "InvalidResponse", as it does every time for a server
    // that hangs up at once.
    [InlineData("a server that hangs up at once", true)]
    [InlineData("nothing", false)]
    public async Task Http2_to_a_port_that_does_not_speak_it_is_refused_with_what_to_change(string listening, bool h2cHint)
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        using var stop = new CancellationTokenSource();
        var hangingUp = Task.Run(async () =>
        {
            while (listening == "a server that hangs up at once")
            {
                using var client = await listener.AcceptTcpClientAsync(stop.Token);
            }
        });
        var url = listening == "an HTTP/1.1 broker" ? Url : $"http://127.0.0.1:{((System.Net.IPEndPoint)listener.LocalEndpoint).Port}";
        if (listening == "nothing")
        {
            listener.Stop();
        }

        var run = await LoadToolProcess.RunAsync("produce", "--url", url, "--http2", "2", "--messages", "5", "--quiet");
        await stop.CancelAsync();
        await hangingUp.ContinueWith(_ => { }, TaskScheduler.Default);

        run.ExitCode.Should().Be(2, run.Error);
        var refusal = run.Error.Split('\n')[0];
        refusal.Should().StartWith($"The load test could not run against {url}/: POST /queues: ");
        if (h2cHint)
        {
            refusal.Should().EndWith("--http2 speaks HTTP/2 without TLS: is --url the broker's h2c port? Leave --http2 out for an HTTP/1.1 one.");
        }
        else
        {
            refusal.Should().Contain("Connection refused", "a connection never made has a cause of its own").And.NotContain("h2c port");
        }
    }

    [Fact]
    public async Task The_json_rounds_each_operations_rate_as_it_rounds_the_runs_throughput()
    {
        var output = new StringWriter();

        var exitCode = await Session.RunAsync(
            LoadOptions.Parse(["cycle", "--url", Url, "--producers", "2", "--consumers", "2", "--duration", "0.5", "--json", "--quiet"]), output, TextWriter.Null);

        exitCode.Should().Be(0, output.ToString());
        using var json = JsonDocument.Parse(output.ToString());
        var operations = json.RootElement.GetProperty("operations").EnumerateArray().ToList();
        operations.Should().NotBeEmpty();
        foreach (var operation in operations)
        {
            // It read 6624.550704271303 beside a throughput of 6624.6.
            var rate = operation.GetProperty("per_second").GetDouble();
            rate.Should().Be(Math.Round(rate, 1), operation.GetProperty("operation").GetString());
        }
    }

    [Theory]
    [InlineData("latency")]
    [InlineData("idle-waiters")]
    public async Task A_paced_run_at_a_low_rate_ends_at_its_duration_not_at_its_next_send(string scenario)
    {
        var output = new StringWriter();
        var args = scenario == "idle-waiters" ? new[] { "--waiters", "2" } : [];
        var session = Stopwatch.StartNew();

        // One send at the start, the next due 10 s later.
        var exitCode = await Session.RunAsync(
            LoadOptions.Parse([scenario, "--url", Url, "--rate", "0.1", "--duration", "1", "--json", "--quiet", .. args]), output, TextWriter.Null);

        exitCode.Should().Be(0, output.ToString());
        using var json = JsonDocument.Parse(output.ToString());
        // Half of the 10 s it took without the fix: half a second over its 1 s was too little on a loaded two-core machine.
        json.RootElement.GetProperty("elapsed_seconds").GetDouble().Should().BeLessThan(5, "it ran until the send due after its deadline");
        session.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(8));
    }

    [Fact]
    public async Task Ctrl_c_in_a_paced_run_at_a_low_rate_stops_it_at_once_not_at_its_next_send()
    {
        // Its consumes hang, so that the first message stays there to be seen.
        await using var server = await OriginalDialectServer.StartAsync(countsQueues: true, hangConsumes: true);
        var output = new StringWriter();
        using var interrupt = new CancellationTokenSource();
        var session = Stopwatch.StartNew();

        var run = Session.RunAsync(
            LoadOptions.Parse(["latency", "--url", server.Url.ToString(), "--rate", "0.1", "--duration", "60", "--json", "--quiet"]),
            output,
            TextWriter.Null,
            interrupt: interrupt.Token);
        // Once the first send is in, not at a fixed time: Ctrl-C before it measures nothing.
        await Eventually.TrueAsync(async () => await MessagesHeldAsync(server) == 1, "the first message is sent");
        await interrupt.CancelAsync();
        var exitCode = await run;

        exitCode.Should().Be(130, output.ToString());
        session.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(9), "the next send was due 10 s after the first");
        using var json = JsonDocument.Parse(output.ToString());
        json.RootElement.TryGetProperty("interrupted", out var interrupted).Should().BeTrue(output.ToString());
        interrupted.GetBoolean().Should().BeTrue();
    }

    [Theory]
    [InlineData("latency")]
    [InlineData("idle-waiters")]
    public async Task A_paced_runs_throughput_line_reads_as_one_parenthesis(string scenario)
    {
        var output = new StringWriter();
        var args = scenario == "idle-waiters" ? new[] { "--waiters", "2" } : [];

        await Session.RunAsync(LoadOptions.Parse([scenario, "--url", Url, "--duration", "0.5", "--quiet", .. args]), output, TextWriter.Null);

        // It read "(messages delivered (at the paced rate))".
        output.ToString().Should().MatchRegex(@"throughput [\d,]+ msgs/s \(messages delivered, at the paced rate\)\r?\n");
    }

    [Theory]
    [InlineData("refused")]
    [InlineData("503")]
    public async Task Long_polls_that_fail_during_the_idle_waiters_ramp_end_the_run_at_once_with_their_errors(string failure)
    {
        // Refused: the server is gone once the run has counted its queue. A fast 503 only now and then kept the ramp waiting.
        // The ramp pauses a second after its first hundred long polls, time for their failures to be in: with twenty, a
        // loaded machine had them all sent before the first 503, and the ramp rightly ended without an error.
        await using var server = failure == "refused"
            ? await OriginalDialectServer.StartAsync(countsQueues: true, goneAfterFirstCount: true)
            : await OriginalDialectServer.StartAsync(countsQueues: true, consumeStatus: StatusCodes.Status503ServiceUnavailable);
        var output = new StringWriter();
        var session = Stopwatch.StartNew();

        var exitCode = await Session.RunAsync(
            LoadOptions.Parse(["idle-waiters", "--url", server.Url.ToString(), "--waiters", "200", "--ramp", "100", "--duration", "1", "--json", "--quiet"]), output, TextWriter.Null);

        session.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(20), "the ramp waited out a minute for long polls that kept failing");
        exitCode.Should().Be(1, output.ToString());
        using var json = JsonDocument.Parse(output.ToString());
        json.RootElement.GetProperty("errors").EnumerateObject().Should().Contain(error => error.Name.StartsWith("GET /messages/consume ", StringComparison.Ordinal));
        json.RootElement.GetProperty("notes").EnumerateArray().Select(note => note.GetString()).Should()
            .Contain("requests failed during the ramp (see errors): the run ended there, before any send");
    }

    [Fact]
    public async Task Idle_waiters_counts_only_its_own_connections_to_the_server_not_other_processes()
    {
        // Another client of the broker: this process, holding connections of its own to the same port.
        var others = new List<System.Net.Sockets.TcpClient>();
        try
        {
            for (var i = 0; i < 10; i++)
            {
                var other = new System.Net.Sockets.TcpClient();
                others.Add(other);
                await other.ConnectAsync(broker.Url.Host, broker.Url.Port);
            }

            var run = await LoadToolProcess.RunAsync("idle-waiters", "--url", Url, "--waiters", "2", "--duration", "0.5", "--json", "--quiet");

            run.ExitCode.Should().Be(0, run.Error);
            using var json = JsonDocument.Parse(run.Output);
            // Its two long polls' connections, and the setup's one when it is still open.
            json.RootElement.GetProperty("extra").GetProperty("connections_established").GetInt32().Should().BeInRange(2, 3);
        }
        finally
        {
            others.ForEach(other => other.Dispose());
        }
    }

    [Fact]
    public async Task A_setup_call_the_server_is_slow_to_answer_shows_progress_naming_it()
    {
        // Past the third second, when progress begins: a server that never answered showed nothing for a minute.
        await using var server = await OriginalDialectServer.StartAsync(countsQueues: true, createDelay: TimeSpan.FromSeconds(5));

        var run = await LoadToolProcess.RunAsync("produce", "--url", server.Url.ToString(), "--messages", "5", "--producers", "1", "--duration", "5");

        run.ExitCode.Should().Be(0, run.Error);
        run.Error.Should().MatchRegex(@"(?m)^\[ *[34]\.\ds\] setup: waiting for the answer to POST /queues  errors 0\r?$");
    }

    [Fact]
    public async Task A_setup_the_server_never_answers_ends_at_the_runs_hard_limit_saying_so()
    {
        await using var silent = new SilentBroker();
        var time = new FakeTimeProvider();
        var output = new StringWriter();

        var session = Session.RunAsync(
            LoadOptions.Parse(["produce", "--url", silent.Url.ToString(), "--duration", "5", "--json", "--quiet"]), output, TextWriter.Null, time);
        await silent.Requested.WaitAsync(TimeSpan.FromSeconds(30));
        time.Advance(TimeSpan.FromSeconds(65));
        var exitCode = await session.WaitAsync(TimeSpan.FromSeconds(30));

        exitCode.Should().Be(2, output.ToString());
        using var json = JsonDocument.Parse(output.ToString());
        json.RootElement.GetProperty("result").GetString().Should().Be("NOT RUN");
        json.RootElement.GetProperty("error").GetString().Should().Contain("requests were still unanswered when the run's hard limit ran out (65 s from its start");
    }

    [Fact]
    public async Task A_consume_the_server_never_answers_ends_the_run_at_its_hard_limit_saying_so_not_as_a_pass()
    {
        // The consumer's long poll is given up at the hard limit: counted as no error, it left the messages "still
        // queued", and a server that answered no consume passed.
        await using var server = await OriginalDialectServer.StartAsync(countsQueues: true, hangConsumes: true);
        var time = new FakeTimeProvider();
        var output = new StringWriter();

        var session = Session.RunAsync(
            LoadOptions.Parse(["consume", "--url", server.Url.ToString(), "--messages", "5", "--consumers", "1", "--duration", "1", "--json", "--quiet"]),
            output,
            TextWriter.Null,
            time);
        await server.ConsumeRequested.WaitAsync(TimeSpan.FromSeconds(30));
        time.Advance(TimeSpan.FromSeconds(61));
        var exitCode = await session.WaitAsync(TimeSpan.FromSeconds(30));

        exitCode.Should().Be(2, output.ToString());
        using var json = JsonDocument.Parse(output.ToString());
        json.RootElement.GetProperty("error").GetString().Should().Contain("requests were still unanswered when the run's hard limit ran out (61 s from its start");
    }

    [Fact]
    public async Task A_latency_run_whose_waiting_consumers_never_get_the_messages_fails_saying_so()
    {
        // Five seconds of grace after the last send, on the run's clock: the messages are still queued, but consumers
        // were waiting for them, which is what the scenario measures.
        await using var server = await OriginalDialectServer.StartAsync(countsQueues: true, hangConsumes: true);
        var time = new FakeTimeProvider();
        var output = new StringWriter();

        var session = Session.RunAsync(
            LoadOptions.Parse(["latency", "--url", server.Url.ToString(), "--messages", "2", "--rate", "20", "--consumers", "1", "--duration", "5", "--json", "--quiet"]),
            output,
            TextWriter.Null,
            time);
        await Eventually.TrueAsync(async () => await MessagesHeldAsync(server) == 2, "both messages are sent");

        time.Advance(TimeSpan.FromSeconds(4));
        await Task.Delay(300);
        session.IsCompleted.Should().BeFalse("the consumers are given 5 s after the last send");
        // Then a second at a time until the run ends, short of its hard limit (65 s on that clock).
        for (var waited = 4; waited < 30 && !session.IsCompleted; waited++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await Task.WhenAny(session, Task.Delay(100));
        }

        var exitCode = await session.WaitAsync(TimeSpan.FromSeconds(30));

        exitCode.Should().Be(1, output.ToString());
        using var json = JsonDocument.Parse(output.ToString());
        json.RootElement.GetProperty("result").GetString().Should().Be("FAIL");
        json.RootElement.GetProperty("failures").EnumerateArray().Select(f => f.GetString())
            .Should().Contain("2 acknowledged messages were not received within 5 s of the last send, with consumers waiting for them");
    }

    [Fact]
    public async Task A_burst_the_server_is_slow_to_answer_shows_progress()
    {
        await using var server = await OriginalDialectServer.StartAsync(countsQueues: true, sendDelay: TimeSpan.FromSeconds(5));

        var run = await LoadToolProcess.RunAsync("burst", "--url", server.Url.ToString(), "--concurrency", "3");

        run.ExitCode.Should().Be(0, run.Error);
        run.Error.Should().MatchRegex(@"(?m)^\[ *[34]\.\ds\] burst: 0/3 acknowledged  errors 0\r?$");
    }

    [Fact]
    public async Task A_run_past_its_duration_waiting_for_answers_says_so_and_when_it_gives_up()
    {
        // A server that stopped answering some requests showed the same count for a minute, with nothing to say why.
        await using var server = await OriginalDialectServer.StartAsync(countsQueues: true, sendDelay: TimeSpan.FromSeconds(5));

        var run = await LoadToolProcess.RunAsync("produce", "--url", server.Url.ToString(), "--producers", "1", "--messages", "1", "--duration", "1");

        run.ExitCode.Should().Be(0, run.Error);
        run.Error.Should().MatchRegex(
            @"(?m)^\[ *[34]\.\ds\] sent 0  errors 0  \(past --duration: finishing; what the server has not answered 61 s after the run's start is given up\)\r?$");
    }

    [Fact]
    public async Task The_queue_is_created_with_a_content_length_that_a_minimal_server_can_read()
    {
        // A stand-in for another implementation of the API that reads bodies by Content-Length only: chunked, the
        // create would read as empty there and the run would not start.
        using var server = new HangingUpServer();

        _ = await LoadToolProcess.RunAsync("produce", "--url", server.Url, "--duration", "0.5", "--json", "--quiet");

        var head = await server.RequestHead;
        head.Should().StartWith("POST /queues ").And.MatchRegex("(?im)^Content-Length: [1-9]")
            .And.NotContainEquivalentOf("Transfer-Encoding: chunked");
    }

    [Fact]
    public async Task A_server_that_hangs_up_without_answering_is_named_as_the_reason_the_run_did_not_run()
    {
        using var server = new HangingUpServer();
        var url = server.Url;

        var run = await LoadToolProcess.RunAsync("produce", "--url", url, "--duration", "0.5", "--json", "--quiet");

        await server.RequestHead;
        run.ExitCode.Should().Be(2, run.Error);
        using var json = JsonDocument.Parse(run.Output);
        json.RootElement.GetProperty("error").GetString().Should().StartWith($"could not run against {url}/: POST /queues: ")
            .And.Contain("ended prematurely", "\"An error occurred while sending the request.\" alone says nothing of why");
    }

    [Fact]
    public async Task A_server_that_answers_200_with_no_queue_gets_json_saying_so_not_a_crash()
    {
        await using var other = await NotABroker.StartAsync(status: 200);

        var run = await LoadToolProcess.RunAsync("produce", "--url", other.Url.ToString(), "--duration", "0.5", "--json", "--quiet");

        run.ExitCode.Should().Be(2, run.Error);
        run.Error.Should().NotContain("Unhandled exception");
        using var json = JsonDocument.Parse(run.Output);
        json.RootElement.GetProperty("result").GetString().Should().Be("NOT RUN");
        json.RootElement.GetProperty("error").GetString().Should().Contain("POST /queues answered 200 without a queue in JSON (is it a WonderQ broker?)");
    }

    [Fact]
    public async Task Side_by_side_with_the_first_server_unreachable_prints_the_summary_table_with_every_server_not_run()
    {
        var closed = $"http://127.0.0.1:{FreePort.Next()}";

        var run = await LoadToolProcess.RunAsync("produce", "--url", closed, "--url", Url, "--duration", "0.5", "--producers", "2", "--quiet");

        run.ExitCode.Should().Be(2, run.Error);
        run.Output.Should().Contain("side by side");
        run.Output.Split('\n').Where(line => line.StartsWith("http://", StringComparison.Ordinal)).Should()
            .HaveCount(2).And.AllSatisfy(row => row.Should().Contain("NOT RUN"));
    }

    [Fact]
    public async Task Side_by_side_with_the_first_server_unreachable_prints_its_json_with_every_server_not_run()
    {
        var closed = $"http://127.0.0.1:{FreePort.Next()}";

        var run = await LoadToolProcess.RunAsync("produce", "--url", closed, "--url", Url, "--duration", "0.5", "--producers", "2", "--json", "--quiet");

        run.ExitCode.Should().Be(2, run.Error);
        using var json = JsonDocument.Parse(run.Output);
        json.RootElement.GetProperty("runs").EnumerateArray().Should().BeEmpty();
        json.RootElement.GetProperty("side_by_side").EnumerateArray().Select(row => row.GetProperty("result").GetString())
            .Should().Equal("NOT RUN", "NOT RUN");
        json.RootElement.GetProperty("side_by_side").EnumerateArray().Should().AllSatisfy(row =>
        {
            // A script reading the ratio as a number must not meet the string "NaN".
            row.GetProperty("ratio_to_first").ValueKind.Should().Be(JsonValueKind.Null);
            row.GetProperty("transport").GetString().Should().Be("http/1.1");
        });
        json.RootElement.GetProperty("error").GetString().Should().StartWith($"could not run against {closed}/: ");
    }

    [Fact]
    public async Task A_server_that_redirects_is_not_followed_to_another_server()
    {
        // Arrange: where --url points, every request is redirected (307 keeps the method: the queue's DELETE too) to
        // another server, which counts what reaches it.
        await using var elsewhere = await NotABroker.StartAsync(status: 200);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        await using var redirecting = builder.Build();
        redirecting.Run(context =>
        {
            context.Response.StatusCode = StatusCodes.Status307TemporaryRedirect;
            context.Response.Headers.Location = new Uri(elsewhere.Url, context.Request.Path + context.Request.QueryString).ToString();
            return Task.CompletedTask;
        });
        await redirecting.StartAsync();
        var url = redirecting.Urls.First();

        // Act
        var run = await LoadToolProcess.RunAsync("produce", "--url", url, "--duration", "0.5", "--producers", "2", "--json", "--quiet");

        // Assert
        elsewhere.Requests.Should().Be(0, "traffic goes only where --url points");
        run.ExitCode.Should().Be(2, run.Error);
        using var json = JsonDocument.Parse(run.Output);
        json.RootElement.GetProperty("result").GetString().Should().Be("NOT RUN");
        json.RootElement.GetProperty("error").GetString().Should()
            .Contain($"POST /queues answered 307, a redirect to {elsewhere.Url}queues: the load test sends only where --url points");
    }

    private async Task<List<string>> QueueNamesAsync()
    {
        using var http = broker.CreateClient();
        var queues = await http.GetFromJsonAsync<JsonElement>("/queues");
        return [.. queues.EnumerateArray().Select(q => q.GetProperty("name").GetString()!)];
    }

    private static async Task<long> MessagesHeldAsync(OriginalDialectServer server)
    {
        using var http = new HttpClient { BaseAddress = server.Url };
        var queues = await http.GetFromJsonAsync<JsonElement>("/queues");
        return queues.EnumerateArray().Sum(q => q.GetProperty("queue_size").GetInt64());
    }

    /// <summary>
    /// Reads the first request, then closes the connection without a word, as a server that crashed on it would. Its
    /// body is read too (by its Content-Length): a socket closed with data unread is reset rather than ended.
    /// </summary>
    private sealed class HangingUpServer : IDisposable
    {
        private readonly System.Net.Sockets.TcpListener _listener = new(System.Net.IPAddress.Loopback, 0);

        public HangingUpServer()
        {
            _listener.Start();
            Url = $"http://127.0.0.1:{((System.Net.IPEndPoint)_listener.LocalEndpoint).Port}";
            RequestHead = Task.Run(ReadOneHeadAsync);
        }

        public string Url { get; }

        public Task<string> RequestHead { get; }

        public void Dispose() => _listener.Dispose();

        private async Task<string> ReadOneHeadAsync()
        {
            using var client = await _listener.AcceptTcpClientAsync();
            var buffer = new byte[4096];
            var read = 0;
            var head = "";
            while (!head.Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                read += await client.GetStream().ReadAsync(buffer.AsMemory(read));
                head = System.Text.Encoding.ASCII.GetString(buffer, 0, read);
            }

            head = head[..(head.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)];
            var length = System.Text.RegularExpressions.Regex.Match(head, @"(?im)^Content-Length: *(\d+)") is { Success: true } found
                ? int.Parse(found.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)
                : 0;
            while (read < head.Length + length)
            {
                read += await client.GetStream().ReadAsync(buffer.AsMemory(read));
            }

            client.Client.Shutdown(System.Net.Sockets.SocketShutdown.Both);
            return head;
        }
    }
}
