using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace WonderQ.UserApp.Tests.EndToEnd;

/// <summary>The apps as separate processes, as run.sh starts them, checked through HTTP alone.</summary>
public sealed class AppsEndToEndTests : IDisposable
{
    private readonly TempDatabase _directory = new();

    [Fact]
    public async Task Dispatch_then_listen_drains_the_queue_seen_through_the_devtool_across_real_processes()
    {
        await using var broker = Start("Broker", $"--Storage:Sqlite:Path={_directory.Path}");
        await broker.WaitReadyAsync("/healthz");
        var brokerUrl = $"--Broker:Url={broker.Url}";
        await using var userApp = Start("UserApp", brokerUrl);
        await using var devTool = Start("DevTool", brokerUrl);
        await userApp.WaitReadyAsync("/listeners");
        await devTool.WaitReadyAsync("/queues");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };

        using var dispatched = await http.PostAsJsonAsync(new Uri(userApp.Url, "/dispatch"), new { queue_name = "e2e", stub = 200 });
        using var listening = await http.GetAsync(new Uri(userApp.Url, "/listen?queue_name=e2e&size=50&wait_time=1"));

        dispatched.StatusCode.Should().Be(HttpStatusCode.OK);
        var result = await dispatched.Content.ReadFromJsonAsync<JsonElement>();
        result.GetProperty("messages").GetArrayLength().Should().Be(200);
        result.GetProperty("failed").GetArrayLength().Should().Be(0);
        listening.StatusCode.Should().Be(HttpStatusCode.Accepted);
        await Eventually.ValueAsync(
            async () =>
            {
                // Watched as a developer would: through the DevTool.
                var queues = await http.GetFromJsonAsync<JsonElement>(new Uri(devTool.Url, "/queues"));
                return queues.EnumerateArray().Single(q => q.GetProperty("name").GetString() == "e2e").GetProperty("queue_size").GetInt64();
            },
            size => size == 0,
            "the listener deletes every message it processes");
        await Eventually.ValueAsync(() => Processed(userApp).Count, count => count == 200, "the UserApp prints 200 lines", TimeSpan.FromSeconds(10));
        Processed(userApp).Should().OnlyHaveUniqueItems();
    }

    public void Dispose() => _directory.Dispose();

    /// <summary>The app from its build output, working in a folder of the test's own, as run.sh starts it.</summary>
    private AppProcess Start(string app, string arg) =>
        AppProcess.Start(app, FreePort.Next(), _directory.Directory, "--contentRoot", RepoPaths.AppDirectory(app), arg);

    private static List<string> Processed(AppProcess app) =>
        [.. app.Output.Where(l => l.StartsWith("Processing message: ", StringComparison.Ordinal))];
}
