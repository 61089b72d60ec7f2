using System.Net.Http.Json;
using System.Text.Json;

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

    private async Task<List<string>> QueueNamesAsync()
    {
        using var http = broker.CreateClient();
        var queues = await http.GetFromJsonAsync<JsonElement>("/queues");
        return [.. queues.EnumerateArray().Select(q => q.GetProperty("name").GetString()!)];
    }
}
