using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace WonderQ.UserApp.Tests.EndToEnd;

/// <summary>The apps as separate processes, as run.sh starts them, checked through HTTP alone.</summary>
public sealed class AppsEndToEndTests : IDisposable
{
    private readonly string _workingDirectory = Directory.CreateTempSubdirectory("wonderq-e2e-").FullName;

    [Fact]
    public async Task Dispatch_then_listen_drains_the_queue_seen_through_the_devtool_across_real_processes()
    {
        await using var broker = await AppProcess.StartAsync(
            "broker", "Broker", "WonderQ.Broker", "/healthz", _workingDirectory, $"--Storage:Sqlite:Path={Path.Combine(_workingDirectory, "q.db")}");
        var brokerUrl = $"--Broker:Url={broker.Url}";
        await using var userApp = await AppProcess.StartAsync("userapp", "UserApp", "WonderQ.UserApp", "/listeners", _workingDirectory, brokerUrl);
        await using var devTool = await AppProcess.StartAsync("devtool", "DevTool", "WonderQ.DevTool", "/queues", _workingDirectory, brokerUrl);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };

        using var dispatched = await http.PostAsJsonAsync(new Uri(userApp.Url, "/dispatch"), new { queue_name = "e2e", stub = 200 });
        using var listening = await http.GetAsync(new Uri(userApp.Url, "/listen?queue_name=e2e&size=50&wait_time=1"));

        dispatched.StatusCode.Should().Be(HttpStatusCode.OK);
        var result = await dispatched.Content.ReadFromJsonAsync<JsonElement>();
        result.GetProperty("messages").GetArrayLength().Should().Be(200);
        result.GetProperty("failed").GetArrayLength().Should().Be(0);
        listening.StatusCode.Should().Be(HttpStatusCode.Accepted);
        var drained = await Infrastructure.Eventually.TrueAsync(async () =>
        {
            // Watched as a developer would: through the DevTool.
            var queues = await http.GetFromJsonAsync<JsonElement>(new Uri(devTool.Url, "/queues"));
            return queues.EnumerateArray().Single(q => q.GetProperty("name").GetString() == "e2e").GetProperty("queue_size").GetInt64() == 0;
        });
        drained.Should().BeTrue("the listener deletes every message it processes");
        (await Infrastructure.Eventually.TrueAsync(() => Processed(userApp).Count == 200, TimeSpan.FromSeconds(10)))
            .Should().BeTrue($"the UserApp printed {Processed(userApp).Count} of 200 lines");
        Processed(userApp).Should().OnlyHaveUniqueItems();
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_workingDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A file the killed broker held may linger a moment; the temp folder is cleaned up eventually anyway.
        }
    }

    private static List<string> Processed(AppProcess app) =>
        [.. app.Output.Where(l => l.StartsWith("Processing message: ", StringComparison.Ordinal))];
}
