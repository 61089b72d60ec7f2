using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using WonderQ.LoadTest;

namespace WonderQ.Broker.Tests.LoadTool;

/// <summary>
/// The load tool measuring several servers in one invocation (<c>--url A --url B --rounds N</c>): each server in turn,
/// every other round reversed, and a summary that compares median throughputs.
/// </summary>
public sealed class SideBySideTests : IAsyncLifetime
{
    private readonly List<KestrelBroker> _brokers = [];

    public async Task InitializeAsync()
    {
        for (var i = 0; i < 2; i++)
        {
            _brokers.Add(await KestrelBroker.StartAsync());
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var broker in _brokers)
        {
            await broker.DisposeAsync();
        }
    }

    [Fact]
    public async Task Two_servers_are_measured_in_turns_and_summarised_side_by_side()
    {
        // Arrange
        var (first, second) = (Url(0), Url(1));

        // Act
        var output = await OutputOfSessionAsync(["produce", "--duration", "0.5", "--producers", "4", "--rounds", "2", "--url", first, "--url", second, "--quiet"], exitCode: 0);

        // Assert: A B, then B A; then one summary row for each server, in the order given, with a figure a round.
        var lines = output.Split('\n');
        lines.Where(l => l.StartsWith("scenario produce", StringComparison.Ordinal)).Select(l => l.Split("  ")[1])
            .Should().Equal($"url {first}/", $"url {second}/", $"url {second}/", $"url {first}/");
        var summary = lines.SkipWhile(l => !l.StartsWith("side by side: produce, 2 rounds", StringComparison.Ordinal)).ToList();
        summary.Should().HaveCountGreaterThan(3);
        summary[2].Should().StartWith(first + "/").And.Contain("1.00").And.Contain("PASS");
        summary[3].Should().StartWith(second + "/").And.Contain("PASS");
        summary[3].Split("PASS")[1].Split("  ", StringSplitOptions.RemoveEmptyEntries).Should().HaveCount(2, "one throughput a round");
    }

    [Fact]
    public async Task A_server_that_cannot_be_reached_ends_the_session_with_the_setup_exit_code_naming_it_and_the_runs_done_are_still_printed()
    {
        var closed = $"http://127.0.0.1:{FreePort.Next()}";
        var options = LoadOptions.Parse(["produce", "--duration", "0.5", "--producers", "2", "--url", Url(0), "--url", closed, "--json", "--quiet"]);
        var (output, log) = (new StringWriter(), new StringWriter());

        var exitCode = await Session.RunAsync(options, output, log);

        exitCode.Should().Be(2);
        log.ToString().Should().Contain($"could not run against {closed}/");
        // A side-by-side session's shape, however far it got, so that a script reads it one way.
        using var json = JsonDocument.Parse(output.ToString());
        var run = json.RootElement.GetProperty("runs").EnumerateArray().Should().ContainSingle().Subject;
        run.GetProperty("url").GetString().Should().Be(Url(0) + "/");
        run.GetProperty("result").GetString().Should().Be("PASS");
        json.RootElement.GetProperty("side_by_side").EnumerateArray().Select(row => row.GetProperty("result").GetString())
            .Should().Equal("PASS", "NOT RUN");
        json.RootElement.GetProperty("error").GetString().Should().StartWith($"could not run against {closed}/: ");
    }

    [Fact]
    public async Task Ctrl_c_ends_the_run_early_and_it_is_still_reported_and_its_queue_deleted()
    {
        var options = LoadOptions.Parse(["produce", "--duration", "60", "--producers", "4", "--url", Url(0), "--quiet"]);
        var output = new StringWriter();
        using var interrupt = new CancellationTokenSource();
        using var broker = new HttpClient { BaseAddress = new Uri(Url(0)) };

        var running = Session.RunAsync(options, output, TextWriter.Null, interrupt: interrupt.Token);
        // Ctrl-C once the measured run is sending, not after a fixed second: on a busy machine its setup can take
        // longer, and a Ctrl-C during the setup reports nothing (as the warm-up test below expects).
        await Eventually.TrueAsync(async () => JsonDocument.Parse(await broker.GetStringAsync("/queues")).RootElement.EnumerateArray()
            .Any(queue => queue.GetProperty("name").GetString()!.StartsWith("load-produce-", StringComparison.Ordinal) && queue.GetProperty("queue_size").GetInt64() > 0),
            "the measured run sending");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await interrupt.CancelAsync();
        var exitCode = await running;

        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(20), "the run stops at Ctrl-C, not after its 60 s");
        exitCode.Should().Be(130, output.ToString());
        output.ToString().Should().Contain("stopped early by Ctrl-C").And.Contain("result PASS");
        var queues = await broker.GetStringAsync("/queues");
        queues.Should().NotContain("load-produce-", "the interrupted run deletes its queue as any run does");
    }

    [Fact]
    public async Task Ctrl_c_during_the_warm_up_starts_no_measured_run()
    {
        var options = LoadOptions.Parse(["produce", "--warmup", "60", "--duration", "10", "--producers", "4", "--url", Url(0), "--quiet"]);
        var output = new StringWriter();
        using var interrupt = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var exitCode = await Session.RunAsync(options, output, TextWriter.Null, interrupt: interrupt.Token);

        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(20));
        exitCode.Should().Be(130);
        output.ToString().Should().BeEmpty("the warm-up is never shown, and no measured run started after it");
    }

    [Fact]
    public async Task Ctrl_c_before_any_run_was_measured_still_gives_a_json_reader_its_document()
    {
        var options = LoadOptions.Parse(["produce", "--warmup", "60", "--duration", "10", "--producers", "4", "--url", Url(0), "--json", "--quiet"]);
        var output = new StringWriter();
        using var interrupt = new CancellationTokenSource(TimeSpan.FromSeconds(1));

        var exitCode = await Session.RunAsync(options, output, TextWriter.Null, interrupt: interrupt.Token);

        exitCode.Should().Be(130);
        using var json = JsonDocument.Parse(output.ToString());
        json.RootElement.GetProperty("result").GetString().Should().Be("NOT RUN");
        json.RootElement.GetProperty("passed").GetBoolean().Should().BeFalse();
        json.RootElement.GetProperty("error").GetString().Should().Be("stopped by Ctrl-C before a run was measured");
    }

    [Fact]
    public async Task Ctrl_c_that_gives_up_on_a_server_no_longer_answering_says_so_in_the_json()
    {
        // Connections are accepted (into the backlog) and never answered.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var url = $"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}/";
        var options = LoadOptions.Parse(["produce", "--duration", "30", "--url", url, "--json", "--quiet"]);
        var output = new StringWriter();
        var time = new FakeTimeProvider();
        using var interrupt = new CancellationTokenSource();

        var session = Session.RunAsync(options, output, TextWriter.Null, time, interrupt.Token);
        using (await silent.AcceptTcpClientAsync().WaitAsync(TimeSpan.FromSeconds(10)))
        {
            // A request is on its way and will never be answered: Ctrl-C, and the grace after it runs out.
            interrupt.Cancel();
            time.Advance(Run.InterruptGrace);
        }

        var exitCode = await session.WaitAsync(TimeSpan.FromSeconds(10));

        exitCode.Should().Be(130);
        using var json = JsonDocument.Parse(output.ToString());
        json.RootElement.GetProperty("result").GetString().Should().Be("NOT RUN");
        json.RootElement.GetProperty("error").GetString().Should().StartWith($"could not run against {url}: stopped by Ctrl-C with requests still unanswered");
    }

    [Fact]
    public void A_server_the_session_did_not_get_to_is_summarised_as_not_run_rather_than_passed()
    {
        var options = LoadOptions.Parse(["produce", "--url", "http://a", "--url", "http://b"]);

        var rows = SideBySide.Summarise(options, [(0, Result(options, 1000, brokerCpu: 80, p50: 4))]);

        rows.Select(r => (r.Result, r.Passed)).Should().Equal(("PASS", true), ("NOT RUN", false));
        rows[1].MedianMsgsPerSecond.Should().BeNull("a server never measured has no figure, which a 0 would claim");
        rows[1].RatioToFirst.Should().BeNull();
        SideBySide.ToTable(options, rows).Split('\n')[3].Should().MatchRegex(@"^http://b/ +http/1\.1 +- +- ");
    }

    [Fact]
    public void A_run_cut_short_by_ctrl_c_is_listed_but_left_out_of_its_servers_medians()
    {
        var options = LoadOptions.Parse(["produce", "--url", "http://a", "--url", "http://b", "--rounds", "2"]);
        var runs = new List<(int, RunResult)>
        {
            (0, Result(options, 1000, brokerCpu: 80, p50: 4)), (1, Result(options, 2000, brokerCpu: 40, p50: 2)),
            (1, Result(options, 2200, brokerCpu: 30, p50: 3)), (0, Result(options, 100, brokerCpu: 500, p50: 40, interrupted: true)),
        };

        var rows = SideBySide.Summarise(options, runs);

        rows[0].MsgsPerSecond.Should().Equal(1000, 100);
        rows[0].Should().BeEquivalentTo(new { MedianMsgsPerSecond = 1000.0, P50Ms = 4.0, BrokerCpuUsPerMsg = 80.0 });
        rows[1].RatioToFirst.Should().Be(2.1);
        SideBySide.ToTable(options, rows, interrupted: true).Should().Contain("stopped by Ctrl-C is listed with its round, but left out of the medians");
    }

    [Fact]
    public async Task Ctrl_c_during_a_consume_runs_pre_fill_reports_no_zero_figures_and_still_deletes_its_queue()
    {
        // A pre-fill far longer than the second before Ctrl-C: the measured phase never begins.
        var options = LoadOptions.Parse(["consume", "--messages", "1000000", "--url", Url(0), "--quiet"]);
        var (output, log) = (new StringWriter(), new StringWriter());
        using var interrupt = new CancellationTokenSource(TimeSpan.FromSeconds(1));

        var exitCode = await Session.RunAsync(options, output, log, interrupt: interrupt.Token);

        exitCode.Should().Be(130, log.ToString());
        output.ToString().Should().NotContain("result PASS", "a run that measured nothing is no pass at 0 msgs/s");
        log.ToString().Should().Contain("stopped by Ctrl-C before the measured phase");
        var queues = await new HttpClient { BaseAddress = new Uri(Url(0)) }.GetStringAsync("/queues");
        queues.Should().NotContain("load-consume-");
    }

    [Fact]
    public async Task Ctrl_c_during_the_warm_up_says_nothing_was_measured_and_deletes_the_warm_up_queue()
    {
        var options = LoadOptions.Parse(["produce", "--warmup", "30", "--producers", "2", "--url", Url(0), "--quiet"]);
        var (output, log) = (new StringWriter(), new StringWriter());
        using var interrupt = new CancellationTokenSource(TimeSpan.FromSeconds(1));

        var exitCode = await Session.RunAsync(options, output, log, interrupt: interrupt.Token);

        exitCode.Should().Be(130, log.ToString());
        output.ToString().Should().BeEmpty("the warm-up is not measured");
        log.ToString().Should().Contain($"stopped by Ctrl-C during the warm-up against {Url(0)}/: nothing was measured", "the stop notice promised a report; without a line here the run ends in silence");
        var queues = await new HttpClient { BaseAddress = new Uri(Url(0)) }.GetStringAsync("/queues");
        queues.Should().NotContain("load-produce-");
    }

    [Fact]
    public async Task Messages_lost_by_a_server_that_cannot_count_its_queue_make_the_run_unverified_not_a_pass()
    {
        await using var lossy = await OriginalDialectServer.StartAsync(loseEvery: 1);
        var output = await OutputOfSessionAsync(["cycle", "--duration", "1", "--producers", "2", "--consumers", "2", "--url", lossy.Url.ToString(), "--quiet"], exitCode: 3);

        output.Should().Contain("result UNVERIFIED (").And.NotContain("result PASS");
    }

    [Fact]
    public async Task A_warm_up_on_a_server_that_cannot_count_its_queue_leaves_the_measured_run_unverified_not_failed()
    {
        await using var original = await OriginalDialectServer.StartAsync();
        var output = await OutputOfSessionAsync(["produce", "--warmup", "0.5", "--duration", "0.5", "--producers", "2", "--url", original.Url.ToString(), "--quiet"], exitCode: 3);

        output.Should().Contain("result UNVERIFIED (").And.NotContain("warm-up").And.NotContain("result FAIL");
    }

    [Fact]
    public async Task A_warm_up_that_lost_messages_fails_the_measured_run_and_says_so()
    {
        // Every message lost: losing every tenth, a half-second warm-up on a loaded CI machine sent too few to lose one.
        await using var lossy = await OriginalDialectServer.StartAsync(loseEvery: 1, countsQueues: true);
        var output = await OutputOfSessionAsync(["cycle", "--warmup", "0.5", "--duration", "0.5", "--producers", "2", "--consumers", "2", "--url", lossy.Url.ToString(), "--quiet"], exitCode: 1);

        output.Should().Contain("the warm-up run itself had errors, losses or duplicates");
    }

    [Fact]
    public async Task A_consumes_cpu_a_message_is_of_the_drain_and_its_pre_fill_is_reported_apart()
    {
        // The server does about a second of busy work on the pre-fill's sends and none on the drain. The broker's CPU
        // is this process's, as the server runs in it, so other tests' work adds to both figures, each by its length.
        await using var server = await OriginalDialectServer.StartAsync(countsQueues: true, sendWork: 3_000_000);
        var output = await OutputOfSessionAsync([
            "consume", "--messages", "300", "--consumers", "2", "--batch", "10", "--duration", "10",
            "--url", server.Url.ToString(), "--broker-pid", Environment.ProcessId.ToString(CultureInfo.InvariantCulture), "--json", "--quiet"], exitCode: 0);

        using var json = JsonDocument.Parse(output);
        var extra = json.RootElement.GetProperty("extra");
        var fill = extra.GetProperty("fill_broker_cpu_s").GetDouble();
        fill.Should().BeGreaterThanOrEqualTo(0.3, output);
        extra.GetProperty("fill_loadgen_cpu_s").GetDouble().Should().BeGreaterThan(0);
        extra.GetProperty("broker_cpu_s").GetDouble().Should().BeLessThan(fill / 2, "the drain's figure is not the pre-fill's: " + output);
    }

    [Fact]
    public async Task A_consume_cut_short_by_its_duration_divides_its_cpu_by_the_messages_it_drained_not_by_its_pre_fill()
    {
        // Each consume does about a tenth of a second of busy work: one consumer, two messages at a time, drains a dozen
        // or two of the 300 before --duration ends it.
        await using var server = await OriginalDialectServer.StartAsync(countsQueues: true, consumeWork: 50_000_000);
        var output = await OutputOfSessionAsync([
            "consume", "--messages", "300", "--consumers", "1", "--batch", "2", "--duration", "1",
            "--url", server.Url.ToString(), "--broker-pid", Environment.ProcessId.ToString(CultureInfo.InvariantCulture), "--json", "--quiet"], exitCode: 0);

        using var json = JsonDocument.Parse(output);
        var drained = json.RootElement.GetProperty("operations").EnumerateArray()
            .Single(op => op.GetProperty("operation").GetString() == "delete").GetProperty("count").GetInt64();
        drained.Should().BeInRange(1, 299, "the drain is cut short: " + output);
        var extra = json.RootElement.GetProperty("extra");
        // Within what the rounding of broker_cpu_s to 10 ms allows; divided by the 300 sent, it was a fraction of that.
        extra.GetProperty("broker_cpu_us_per_msg").GetDouble().Should().BeApproximately(
            extra.GetProperty("broker_cpu_s").GetDouble() * 1e6 / drained, (5_000.0 / drained) + 1, output);
    }

    [Fact]
    public async Task Idle_waiters_cpu_a_message_is_of_the_sends_to_the_held_long_polls_and_its_ramp_is_reported_apart()
    {
        // Each consume does about 8 ms of busy work when it arrives: some 1.6 s for the ramp's 200 long polls, a few
        // hundredths for the handful the measured phase's messages bring back. The broker's CPU is this process's, as
        // the server runs in it, so the tool's own work and other tests' add to every figure, each by its length.
        await using var server = await OriginalDialectServer.StartAsync(countsQueues: true, consumeWork: 4_000_000, longPolls: true);
        var output = await OutputOfSessionAsync([
            "idle-waiters", "--waiters", "200", "--ramp", "1000", "--rate", "10", "--duration", "0.5",
            "--url", server.Url.ToString(), "--broker-pid", Environment.ProcessId.ToString(CultureInfo.InvariantCulture), "--json", "--quiet"], exitCode: 0);

        using var json = JsonDocument.Parse(output);
        var extra = json.RootElement.GetProperty("extra");
        extra.TryGetProperty("ramp_broker_cpu_s", out var rampCpu).Should().BeTrue("the ramp's CPU is reported apart: " + output);
        var ramp = rampCpu.GetDouble();
        ramp.Should().BeGreaterThanOrEqualTo(0.5, output);
        extra.GetProperty("ramp_loadgen_cpu_s").GetDouble().Should().BeGreaterThan(0);
        extra.GetProperty("broker_cpu_s").GetDouble().Should().BeLessThan(ramp / 2, "the measured phase's figure is not the ramp's: " + output);
        extra.TryGetProperty("release_broker_cpu_s", out _).Should().BeTrue("ending the long polls is reported apart too: " + output);
    }

    [Fact]
    public async Task An_unverified_run_is_not_passed_in_its_json_either()
    {
        await using var lossy = await OriginalDialectServer.StartAsync(loseEvery: 1);
        var output = await OutputOfSessionAsync(["cycle", "--duration", "1", "--producers", "2", "--consumers", "2", "--url", lossy.Url.ToString(), "--json", "--quiet"], exitCode: 3);

        using var json = JsonDocument.Parse(output);
        json.RootElement.GetProperty("result").GetString().Should().Be("UNVERIFIED");
        json.RootElement.GetProperty("passed").GetBoolean().Should().BeFalse("a script reading 'passed' must not take a run that could not count its messages for a pass");
    }

    [Fact]
    public async Task A_server_that_stores_each_acknowledged_send_twice_fails_the_produce_run()
    {
        await using var doubling = await OriginalDialectServer.StartAsync(storeTwice: true, countsQueues: true);
        var output = await OutputOfSessionAsync(["produce", "--messages", "50", "--producers", "2", "--url", doubling.Url.ToString(), "--json", "--quiet"], exitCode: 1);

        using var json = JsonDocument.Parse(output);
        var verification = json.RootElement.GetProperty("verification");
        verification.GetProperty("extra_in_queue").GetInt64().Should().Be(50);
        verification.GetProperty("lost").GetInt64().Should().Be(0);
    }

    /// <summary>Messages that come back changed: with their bodies cut short, or under ids their sends were not answered with.</summary>
    [Theory]
    [InlineData("corrupted")]
    [InlineData("received_under_another_id")]
    public async Task A_server_that_delivers_messages_other_than_it_was_sent_fails_the_run(string counted)
    {
        await using var changing = counted == "corrupted"
            ? await OriginalDialectServer.StartAsync(dropLastCharacter: true, countsQueues: true)
            : await OriginalDialectServer.StartAsync(answerIdOffset: 1_000_000, countsQueues: true);
        var output = await OutputOfSessionAsync(["cycle", "--messages", "20", "--producers", "2", "--consumers", "2", "--url", changing.Url.ToString(), "--json", "--quiet"], exitCode: 1);

        using var json = JsonDocument.Parse(output);
        json.RootElement.GetProperty("verification").GetProperty(counted).GetInt64().Should().Be(20);
        json.RootElement.GetProperty("result").GetString().Should().Be("FAIL");
    }

    [Theory]
    [InlineData("cycle")]
    [InlineData("consume")]
    public async Task A_server_that_answers_deletes_but_keeps_the_messages_fails_the_run(string scenario)
    {
        await using var keeping = await OriginalDialectServer.StartAsync(keepDeleted: true, countsQueues: true);
        var output = await OutputOfSessionAsync([scenario, "--messages", "20", "--consumers", "2", "--url", keeping.Url.ToString(), "--json", "--quiet"], exitCode: 1);

        using var json = JsonDocument.Parse(output);
        var verification = json.RootElement.GetProperty("verification");
        (verification.GetProperty("received").GetInt64(), verification.GetProperty("extra_in_queue").GetInt64()).Should().Be((20, 20));
        json.RootElement.GetProperty("result").GetString().Should().Be("FAIL");
    }

    [Fact]
    public async Task A_server_whose_consumed_messages_have_no_body_gets_its_consumes_counted_as_errors_not_a_crash()
    {
        await using var other = await OriginalDialectServer.StartAsync(bodyField: "message", countsQueues: true);
        var output = await OutputOfSessionAsync(["cycle", "--messages", "20", "--producers", "2", "--consumers", "2", "--duration", "1", "--url", other.Url.ToString(), "--json", "--quiet"], exitCode: 1);

        using var json = JsonDocument.Parse(output);
        json.RootElement.GetProperty("errors").EnumerateObject().Select(e => e.Name)
            .Should().Equal("GET /messages/consume JsonException: not an array of messages, each with an id and a body");
    }

    [Fact]
    public async Task Messages_kept_because_their_deletes_were_refused_after_a_redelivery_are_not_counted_as_extra_in_the_queue()
    {
        // Visibility timeout 0: every message comes back at once, and each delete is refused as superseded, not as an error.
        await using var server = await OriginalDialectServer.StartAsync(refuseDeletes: true, countsQueues: true);
        var output = await OutputOfSessionAsync(["consume", "--messages", "20", "--consumers", "2", "--visibility-timeout", "0", "--duration", "1", "--url", server.Url.ToString(), "--json", "--quiet"], exitCode: 0);

        using var json = JsonDocument.Parse(output);
        var verification = json.RootElement.GetProperty("verification");
        verification.GetProperty("acknowledgements_refused_after_redelivery").GetInt64().Should().BeGreaterThanOrEqualTo(20);
        (verification.GetProperty("queue_size_after").GetInt64(), verification.GetProperty("extra_in_queue").GetInt64()).Should().Be((20, 0));
        json.RootElement.GetProperty("result").GetString().Should().Be("PASS");
    }

    [Fact]
    public async Task A_cycle_is_timed_to_its_last_delete_not_to_the_consumers_last_empty_wait()
    {
        // Consumers wait up to 3 s on an empty queue: after the last message, the run must not count that wait.
        var output = await OutputOfSessionAsync(["cycle", "--duration", "1", "--producers", "2", "--consumers", "2", "--wait-time", "3", "--url", Url(0), "--json", "--quiet"], exitCode: 0);

        using var json = JsonDocument.Parse(output);
        var elapsed = json.RootElement.GetProperty("elapsed_seconds").GetDouble();
        // Counting the last wait would make it about 4 s; a loaded machine may take a while to drain the last sends.
        elapsed.Should().BeLessThan(3.0);
        var perSecond = json.RootElement.GetProperty("verification").GetProperty("received").GetInt64() / elapsed;
        json.RootElement.GetProperty("throughput_msgs_per_second").GetDouble().Should().BeApproximately(perSecond, perSecond / 100);
    }

    [Fact]
    public void The_summary_compares_medians_with_the_first_server_and_fails_a_server_with_any_failed_run()
    {
        var options = LoadOptions.Parse(["produce", "--url", "http://a", "--url", "http://b", "--rounds", "3"]);
        var runs = new List<(int, RunResult)>
        {
            (0, Result(options, 1000, brokerCpu: 80, p50: 4)), (1, Result(options, 3000, brokerCpu: 20, p50: 1)),
            (1, Result(options, 2000, brokerCpu: 30, p50: 3)), (0, Result(options, 1200, brokerCpu: 70, p50: 5)),
            (0, Result(options, 900, brokerCpu: 90, p50: 9)), (1, Result(options, 2600, brokerCpu: 25, p50: 2, lost: 1)),
        };

        var rows = SideBySide.Summarise(options, runs);

        rows.Should().BeEquivalentTo(
            [
                new { Url = "http://a/", MsgsPerSecond = new[] { 1000.0, 1200, 900 }, MedianMsgsPerSecond = 1000.0, RatioToFirst = 1.0, Latency = "publish->receive", P50Ms = 5.0, BrokerCpuUsPerMsg = 80.0, Passed = true },
                new { Url = "http://b/", MsgsPerSecond = new[] { 3000.0, 2000, 2600 }, MedianMsgsPerSecond = 2600.0, RatioToFirst = 2.6, Latency = "publish->receive", P50Ms = 2.0, BrokerCpuUsPerMsg = 25.0, Passed = false },
            ],
            o => o.WithStrictOrdering());
    }

    [Fact]
    public async Task A_server_answering_as_the_original_wonderq_does_is_measured_beside_wonderq_and_what_it_cannot_count_is_said()
    {
        // Arrange: the original answers 200, sends times as numbers and has no GET /queues.
        await using var original = await OriginalDialectServer.StartAsync();

        // Act
        var output = await OutputOfSessionAsync(["cycle", "--duration", "1", "--producers", "2", "--consumers", "2", "--url", Url(0), "--url", original.Url.ToString(), "--json", "--quiet"], exitCode: 0);

        // Assert
        using var json = JsonDocument.Parse(output);
        var runs = json.RootElement.GetProperty("runs").EnumerateArray().ToList();
        var (wonderq, theOriginal) = (runs[0].GetProperty("verification"), runs[1].GetProperty("verification"));
        wonderq.TryGetProperty("queue_size_after", out _).Should().BeTrue();
        wonderq.TryGetProperty("unreceived_unverifiable", out _).Should().BeFalse();
        theOriginal.TryGetProperty("queue_size_after", out _).Should().BeFalse("the original has no GET /queues to count with");
        theOriginal.GetProperty("unreceived_unverifiable").GetInt64().Should().Be(0, "its consumers drained the queue");
        theOriginal.GetProperty("acknowledged").GetInt64().Should().BePositive()
            .And.Be(theOriginal.GetProperty("received").GetInt64());
        runs[1].GetProperty("errors").EnumerateObject().Should().BeEmpty();
        json.RootElement.GetProperty("side_by_side")[1].GetProperty("passed").GetBoolean().Should().BeTrue();
    }

    /// <summary>What a session run on <paramref name="args"/> wrote, once it ended with <paramref name="exitCode"/>.</summary>
    private static async Task<string> OutputOfSessionAsync(string[] args, int exitCode)
    {
        var output = new StringWriter();

        (await Session.RunAsync(LoadOptions.Parse(args), output, TextWriter.Null)).Should().Be(exitCode, output.ToString());
        return output.ToString();
    }

    private string Url(int broker) => _brokers[broker].Url.ToString().TrimEnd('/');

    private static RunResult Result(LoadOptions options, double throughput, double brokerCpu, double p50, long lost = 0, bool interrupted = false)
    {
        // A send before the publish->receive: the summary's latency is the publish->receive one where there is one.
        List<OperationStats> operations = [new("send", 10, 10, 100, 100, 100, 100), new("publish->receive", 10, 10, p50, p50, p50 * 2, p50 * 3)];
        var result = new RunResult(options, TimeSpan.FromSeconds(1), throughput, "sends", operations) { Lost = lost, Interrupted = interrupted };
        result.Extra["broker_cpu_us_per_msg"] = brokerCpu;
        return result;
    }
}
