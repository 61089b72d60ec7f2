using FluentAssertions;

namespace WonderQ.Reliability.Tests.HostileInput;

/// <summary>
/// No app names its server software to whoever reaches its port: not in an answer, nor in a refusal of a caller the app
/// does not serve (an unknown <c>Host</c>, a broker's missing key).
/// </summary>
public sealed class ServerHeaderTests
{
    [Theory]
    [InlineData("Broker", "/healthz", "localhost")]
    [InlineData("Broker", "/queues", "evil.example")]
    [InlineData("DevTool", "/", "localhost")]
    [InlineData("DevTool", "/dashboard/settings", "evil.example")]
    [InlineData("UserApp", "/listeners", "localhost")]
    [InlineData("UserApp", "/listeners", "evil.example")]
    public async Task No_answer_carries_a_Server_header(string app, string path, string host)
    {
        await using var running = await StartAsync(app);
        using var http = new HttpClient { BaseAddress = running.Url };
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Host = host;

        using var response = await http.SendAsync(request);

        response.Headers.Server.Should().BeEmpty($"{app} answered {(int)response.StatusCode} to GET {path}");
    }

    [Fact]
    public async Task A_brokers_refusal_of_a_caller_without_its_key_carries_no_Server_header()
    {
        await using var broker = await KestrelBroker.StartAsync("--Auth:ApiKeys:0=s3cret-key");
        using var http = new HttpClient { BaseAddress = broker.Url };

        using var response = await http.GetAsync("/queues");

        ((int)response.StatusCode).Should().Be(401);
        response.Headers.Server.Should().BeEmpty();
    }

    private static async Task<Running> StartAsync(string app)
    {
        if (app == "Broker")
        {
            var broker = await KestrelBroker.StartAsync();
            return new(broker.Url, broker);
        }

        var started = await KestrelApp.StartAsync(app == "DevTool" ? WonderQ.DevTool.Program.CreateApp : WonderQ.UserApp.Program.CreateApp, 0, []);
        return new(started.Url, started);
    }

    private sealed record Running(Uri Url, IAsyncDisposable App) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => App.DisposeAsync();
    }
}
