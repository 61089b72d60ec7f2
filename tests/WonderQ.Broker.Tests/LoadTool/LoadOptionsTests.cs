using WonderQ.LoadTest;

namespace WonderQ.Broker.Tests.LoadTool;

public sealed class LoadOptionsTests
{
    [Fact]
    public void A_warm_up_runs_the_same_scenario_quietly_for_its_own_seconds_on_a_queue_it_does_not_keep()
    {
        var options = LoadOptions.Parse(["consume", "--warmup", "30", "--duration", "10", "--queue", "backlog", "--no-fill", "--keep-queue", "--batch", "5"]);

        var warmUp = options.ForWarmUp();

        warmUp.Should().BeEquivalentTo(
            new { Scenario = "consume", DurationSeconds = 30.0, WarmupSeconds = 0.0, Queue = (string?)null, NoFill = false, KeepQueue = false, Quiet = true, Batch = 5 },
            "the warm-up must not drain or keep the measured queue, and must not warm up again");
        options.Should().BeEquivalentTo(new { DurationSeconds = 10.0, WarmupSeconds = 30.0, Queue = "backlog", NoFill = true, KeepQueue = true, Quiet = false });
    }

    [Fact]
    public void A_warm_up_of_a_backlog_drain_fills_only_the_default_number_of_messages()
    {
        var options = LoadOptions.Parse(["consume", "--warmup", "15", "--queue", "backlog", "--no-fill", "--messages", "1000000"]);

        options.ForWarmUp().Messages.Should().Be(20_000, "the pre-fill is not bounded by time, so a million would outlast the warm-up");
    }

    [Theory]
    [InlineData("produce", "messages duration_s")]
    [InlineData("burst", "duration_s")]
    [InlineData("cycle", "messages duration_s visibility_timeout")]
    public void A_result_lists_among_its_parameters_only_options_its_scenario_reads(string scenario, string listed)
    {
        var result = new RunResult(LoadOptions.Parse([scenario]), TimeSpan.FromSeconds(1), 0, "", []);

        result.Parameters.Keys.Should().BeEquivalentTo(listed.Split(' '), "an option the scenario refuses would read as if it bounded the run");
    }

    [Theory]
    [InlineData(new[] { "produce", "--producers", "1100" }, 1_200)]
    // Side by side, for the server measured over HTTP/1.1 though the first speaks HTTP/2.
    [InlineData(new[] { "produce", "--url", "http://127.0.0.1:1", "--http2", "16", "--url", "http://127.0.0.1:2", "--http2", "0", "--producers", "1100" }, 1_200)]
    public void A_run_needing_more_connections_than_the_open_file_limit_allows_is_refused(string[] args, long openFiles) =>
        FluentActions.Invoking(() => LoadOptions.Parse(args, openFiles)).Should().Throw<ArgumentException>().WithMessage("* (ulimit -n)*");

    [Fact]
    public void Connections_over_http2_need_only_their_own_files()
    {
        var options = LoadOptions.Parse(["produce", "--producers", "3000", "--http2", "31"], openFileLimit: 1_000);

        options.Http2Connections.Should().Be(31);
    }

    [Theory]
    [InlineData(new[] { "produce", "--producers", "2", "--duration", "5", "--producers", "3" }, "--producers is given twice*")]
    [InlineData(new[] { "produce", "--json", "--quiet", "--json" }, "--json is given twice*")]
    [InlineData(new[] { "cycle", "--duration=5", "--duration", "10" }, "--duration is given twice*")]
    public void An_option_given_twice_is_refused_rather_than_the_first_value_dropped(string[] args, string refusal) =>
        FluentActions.Invoking(() => LoadOptions.Parse(args)).Should().Throw<ArgumentException>().WithMessage(refusal);

    [Fact]
    public void A_servers_own_options_repeat_once_for_each_server()
    {
        var options = LoadOptions.Parse(["produce", "--url", "http://127.0.0.1:1", "--http2", "1", "--url", "http://127.0.0.1:2", "--http2", "0"]);

        (options.Urls.Count, options.Http2ByServer.Count).Should().Be((2, 2));
    }

    [Theory]
    [InlineData(new string[0], "Name a scenario: produce, consume, cycle, latency, idle-waiters or burst.")]
    [InlineData(new[] { "--url", "http://127.0.0.1:1", "produce" }, "The scenario comes first, then its options: produce --url ...; got '--url' first.")]
    [InlineData(new[] { "--json" }, "Name a scenario first, then its options: produce, consume, cycle, latency, idle-waiters or burst; got '--json'.")]
    [InlineData(new[] { "Produce" }, "Unknown scenario 'Produce': the scenarios are produce, consume, cycle, latency, idle-waiters or burst.")]
    public void A_missing_or_misplaced_scenario_is_refused_with_the_scenarios_there_are(string[] args, string refusal) =>
        // Options before the scenario read as "Unknown scenario '--url'.", and no refusal named the scenarios.
        FluentActions.Invoking(() => LoadOptions.Parse(args)).Should().Throw<ArgumentException>().WithMessage(refusal);

    [Fact]
    public void A_drain_without_a_queue_to_drain_is_refused() =>
        FluentActions.Invoking(() => LoadOptions.Parse(["consume", "--no-fill", "--duration", "2"]))
            .Should().Throw<ArgumentException>().WithMessage("--no-fill drains a queue that already holds messages: name it with --queue NAME.");

    [Fact]
    public void A_warm_up_is_refused_for_a_burst() =>
        FluentActions.Invoking(() => LoadOptions.Parse(["burst", "--warmup", "5"]))
            .Should().Throw<ArgumentException>().WithMessage("*--warm*");

    [Theory]
    [InlineData("--messages", "100", "produce consume cycle latency idle-waiters")]
    [InlineData("--warmup", "5", "produce consume cycle latency idle-waiters")]
    [InlineData("--producers", "8", "produce cycle")]
    [InlineData("--consumers", "8", "consume cycle latency")]
    [InlineData("--batch", "5", "consume cycle latency idle-waiters")]
    [InlineData("--visibility-timeout", "30", "consume cycle latency idle-waiters")]
    [InlineData("--wait-time", "2", "consume cycle")]
    [InlineData("--fill-concurrency", "8", "consume")]
    [InlineData("--no-fill", null, "consume")]
    [InlineData("--rate", "20", "latency idle-waiters")]
    [InlineData("--waiters", "100", "idle-waiters")]
    [InlineData("--ramp", "500", "idle-waiters")]
    [InlineData("--concurrency", "100", "burst")]
    [InlineData("--warm", null, "burst")]
    public void An_option_is_taken_only_by_the_scenarios_that_read_it_and_refused_by_the_others_naming_them(string option, string? value, string readers)
    {
        var takers = readers.Split(' ');
        foreach (var scenario in LoadOptions.Scenarios)
        {
            // --queue, which every scenario reads: --no-fill drains one.
            string[] args = value is null ? [scenario, option, "--queue", "q"] : [scenario, option, value, "--queue", "q"];
            var parse = FluentActions.Invoking(() => LoadOptions.Parse(args));
            if (takers.Contains(scenario))
            {
                parse.Should().NotThrow($"{scenario} reads {option}");
            }
            else
            {
                parse.Should().Throw<ArgumentException>($"{scenario} does not read {option}").Which.Message
                    .Should().StartWith($"{option} does not apply to {scenario}; it applies to {string.Join(", ", takers)}.");
            }
        }
    }

    [Fact]
    public void A_value_may_follow_its_option_after_an_equals_sign_and_keeps_any_equals_sign_of_its_own()
    {
        var (own, init) = (Environment.ProcessId, 1);

        var options = LoadOptions.Parse(
            ["produce", "--url=http://127.0.0.1:4200/a=b", $"--broker-pid={own}", "--url", "http://127.0.0.1:4300", "--broker-pid", $"{init}",
                "--producers=8", "--duration=2.5", "--queue=x=y", "--http2=4"]);

        options.Urls.Select(u => u.ToString()).Should().Equal("http://127.0.0.1:4200/a=b/", "http://127.0.0.1:4300/");
        options.BrokerPids.Should().Equal(own, init);
        options.Should().BeEquivalentTo(new { Producers = 8, DurationSeconds = 2.5, Queue = "x=y", Http2Connections = 4 });
    }

    [Theory]
    [InlineData("--json=false", "--json takes no value; got '--json=false'.")]
    [InlineData("--warm=0", "--warm takes no value; got '--warm=0'.")]
    [InlineData("--url=", "--url needs a value.")]
    public void A_switch_given_a_value_or_an_option_given_an_empty_one_is_refused(string arg, string refusal) =>
        FluentActions.Invoking(() => LoadOptions.Parse(["burst", arg]))
            .Should().Throw<ArgumentException>().WithMessage(refusal);

    [Theory]
    [InlineData("http://127.0.0.1:3213/?x=1")]
    [InlineData("http://127.0.0.1:3213/wq?x=1")]
    [InlineData("http://127.0.0.1:3213/#top")]
    [InlineData("http://user:secret@127.0.0.1:3213/")]
    public void A_url_with_a_query_a_fragment_or_a_user_name_is_refused_rather_than_dropped(string url) =>
        FluentActions.Invoking(() => LoadOptions.Parse(["produce", "--url", url]))
            .Should().Throw<ArgumentException>().WithMessage($"--url must be the broker's base URL*without a query, a fragment or a user name; got '{url}'.");

    [Theory]
    [InlineData("http://127.0.0.1:3213/wq", "http://127.0.0.1:3213/wq/")]
    [InlineData("http://127.0.0.1:3213/wq/", "http://127.0.0.1:3213/wq/")]
    public void A_url_with_a_path_keeps_it_as_the_prefix_of_every_request(string url, string expected) =>
        LoadOptions.Parse(["produce", "--url", url]).Url.Should().Be(new Uri(expected));

    [Fact]
    public void An_option_left_without_its_value_is_refused_rather_than_taking_the_next_option_as_it() =>
        FluentActions.Invoking(() => LoadOptions.Parse(["produce", "--queue", "--url", "http://127.0.0.1:4200"]))
            .Should().Throw<ArgumentException>().WithMessage("--queue needs a value.");

    [Fact]
    public void Http2_connections_too_few_for_the_requests_in_flight_are_refused_with_the_number_needed()
    {
        LoadOptions.Parse(["produce", "--producers", "512", "--http2", "8"]).Http2Connections.Should().Be(8);

        FluentActions.Invoking(() => LoadOptions.Parse(["idle-waiters", "--waiters", "10000", "--http2", "64"]))
            .Should().Throw<ArgumentException>().WithMessage("*--http2 101 or more*");
    }

    [Theory]
    [InlineData("burst", "--concurrency", 5000, 50)]
    [InlineData("produce", "--producers", 100, 1)]
    public void Http2_connections_whose_streams_hold_every_request_in_flight_are_enough(string scenario, string option, int requests, int connections)
    {
        // The setup calls go over an HttpClient of their own: they take none of these streams.
        LoadOptions.Parse([scenario, option, $"{requests}", "--http2", $"{connections}"]).Http2Connections.Should().Be(connections);

        FluentActions.Invoking(() => LoadOptions.Parse([scenario, option, $"{requests + 1}", "--http2", $"{connections}"]))
            .Should().Throw<ArgumentException>().WithMessage($"*--http2 {connections + 1} or more*");
    }

    [Fact]
    public void Each_url_is_a_server_of_its_own_with_the_broker_pid_given_in_the_same_place()
    {
        // Processes that exist: a pid of none is refused.
        var (own, init) = (Environment.ProcessId, 1);
        var options = LoadOptions.Parse(["produce", "--url", "http://127.0.0.1:4200", "--broker-pid", $"{own}", "--url", "http://127.0.0.1:4300/", "--broker-pid", $"{init}", "--rounds", "3"]);

        options.Urls.Select(u => u.ToString()).Should().Equal("http://127.0.0.1:4200/", "http://127.0.0.1:4300/");
        options.Rounds.Should().Be(3);
        options.ForServer(1).Should().BeEquivalentTo(new { Url = new Uri("http://127.0.0.1:4300/"), BrokerPid = init });
        options.ForServer(0).Should().BeEquivalentTo(new { Url = new Uri("http://127.0.0.1:4200/"), BrokerPid = own });
        LoadOptions.Parse(["produce"]).Urls.Should().Equal(new Uri("http://127.0.0.1:3213/"));
    }

    [Fact]
    public void Http2_given_once_for_each_url_sets_each_servers_transport_and_once_sets_them_all()
    {
        // The broker over h2c beside a server that speaks only HTTP/1.1, such as the original WonderQ.
        var mixed = LoadOptions.Parse(["produce", "--url", "http://127.0.0.1:4201", "--http2", "64", "--url", "http://127.0.0.1:4300", "--http2", "0"]);

        mixed.Http2Connections.Should().Be(64, "the first server's transport is the options' own until another server is chosen");
        mixed.ForServer(0).Http2Connections.Should().Be(64);
        mixed.ForServer(1).Http2Connections.Should().Be(0, "0 speaks HTTP/1.1");
        mixed.ForServer(1).ForWarmUp().Http2Connections.Should().Be(0, "the warm-up speaks to its server as the run does");

        var all = LoadOptions.Parse(["produce", "--url", "http://a", "--url", "http://b", "--http2", "8"]);
        all.ForServer(1).Http2Connections.Should().Be(8);
        LoadOptions.Parse(["produce", "--url", "http://a", "--url", "http://b"]).ForServer(1).Http2Connections.Should().Be(0);
    }

    [Fact]
    public void Http2_that_does_not_pair_with_the_urls_or_is_too_few_for_any_server_is_refused()
    {
        FluentActions.Invoking(() => LoadOptions.Parse(["produce", "--url", "http://a", "--url", "http://b", "--url", "http://c", "--http2", "8", "--http2", "0"]))
            .Should().Throw<ArgumentException>().WithMessage("*once for each in the same order*got 2 for 3*");
        FluentActions.Invoking(() => LoadOptions.Parse(["produce", "--producers", "512", "--url", "http://a", "--http2", "0", "--url", "http://b", "--http2", "2"]))
            .Should().Throw<ArgumentException>().WithMessage("*--http2 6 or more*");
    }

    [Fact]
    public void Broker_pids_that_do_not_pair_with_the_urls_are_refused() =>
        FluentActions.Invoking(() => LoadOptions.Parse(["produce", "--url", "http://a", "--url", "http://b", "--broker-pid", "1"]))
            .Should().Throw<ArgumentException>().WithMessage("*once for each --url*got 1 for 2*");

    [Fact]
    public void A_broker_pid_of_no_process_is_refused_rather_than_left_out_of_the_result() =>
        FluentActions.Invoking(() => LoadOptions.Parse(["produce", "--broker-pid", "2147483646"]))
            .Should().Throw<ArgumentException>().WithMessage("*--broker-pid 2147483646: there is no such process*");
}
