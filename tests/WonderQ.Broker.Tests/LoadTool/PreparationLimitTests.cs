using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using WonderQ.LoadTest;

namespace WonderQ.Broker.Tests.LoadTool;

/// <summary>
/// What comes before a run's measured phase, a <c>consume</c> pre-fill or an <c>idle-waiters</c> ramp, fits in the run's
/// bound (--duration and a minute more) or is refused as such: a healthy server that is only slow to take it must not
/// be reported as one that stopped answering.
/// </summary>
public sealed class PreparationLimitTests
{
    [Fact]
    public async Task A_pre_fill_that_is_not_done_in_time_ends_the_run_saying_so_not_blaming_the_servers_answers()
    {
        // Each send is answered in 50 ms: a 1,000-message pre-fill on one producer takes 50 s, past the pre-fill's 30 s.
        await using var server = await OriginalDialectServer.StartAsync(countsQueues: true, sendDelay: TimeSpan.FromMilliseconds(50));
        var time = new FakeTimeProvider();
        var output = new StringWriter();
        var session = Session.RunAsync(
            LoadOptions.Parse(["consume", "--messages", "1000", "--fill-concurrency", "1", "--duration", "1", "--url", server.Url.ToString(), "--json", "--quiet"]),
            output,
            TextWriter.Null,
            time);
        await QueuedAsync(server, atLeast: 2);

        // Past the pre-fill's 30 s from the run's start, well inside its hard limit (61 s).
        time.Advance(TimeSpan.FromSeconds(31));
        var exitCode = await session.WaitAsync(TimeSpan.FromSeconds(20));

        exitCode.Should().Be(2, output.ToString());
        using var json = JsonDocument.Parse(output.ToString());
        json.RootElement.GetProperty("result").GetString().Should().Be("NOT RUN");
        json.RootElement.GetProperty("error").GetString().Should()
            .MatchRegex(@"^could not run against \S+: pre-fill did not finish: sent [1-9][0-9]* of 1,000 in 31 s\. ")
            .And.Contain("ask for fewer --messages or a higher --fill-concurrency")
            .And.NotContain("unanswered");
    }

    [Fact]
    public async Task An_idle_waiters_ramp_too_long_for_the_runs_bound_is_refused_before_anything_is_sent()
    {
        // 10,000 long polls at 100 a second: a 100 s ramp, which ran into the hard limit (61 s) and blamed the server.
        await using var server = await NotABroker.StartAsync(status: StatusCodes.Status200OK);

        var run = await LoadToolProcess.RunAsync("idle-waiters", "--waiters", "10000", "--ramp", "100", "--url", server.Url.ToString(), "--duration", "1", "--quiet");

        run.ExitCode.Should().Be(2, run.Error);
        run.Error.Split('\n')[0].Should().Be(
            "--waiters 10000 at --ramp 100 per second is a ramp of 100 s, and it may take at most 20 s: the ramp and the wait for its connections must be done 30 s after the run's start, so that the run fits its bound (--duration and a minute more). Ask for fewer --waiters or a higher --ramp.");
        server.Requests.Should().Be(0, "nothing is sent before the refusal");
    }

    /// <summary>Waits until the server's queues hold <paramref name="atLeast"/> messages: the pre-fill is under way.</summary>
    private static async Task QueuedAsync(OriginalDialectServer server, int atLeast)
    {
        using var http = new HttpClient { BaseAddress = server.Url };
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var queues = await http.GetFromJsonAsync<JsonElement>("queues");
            if (queues.EnumerateArray().Sum(q => q.GetProperty("queue_size").GetInt32()) >= atLeast)
            {
                return;
            }

            waited.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(20), "the pre-fill never began");
            await Task.Delay(50);
        }
    }
}
