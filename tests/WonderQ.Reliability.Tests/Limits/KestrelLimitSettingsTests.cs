using System.Net.Sockets;
using System.Text;
using FluentAssertions;
using WonderQ.Reliability.Tests.Support;

namespace WonderQ.Reliability.Tests.Limits;

/// <summary>
/// <c>Kestrel:Limits</c> in an app's settings is what its server enforces, in each of the three apps: written in
/// appsettings.json or given at start, not only documented.
/// </summary>
public sealed class KestrelLimitSettingsTests
{
    public static TheoryData<string> Apps => ["Broker", "DevTool", "UserApp"];

    [Theory]
    [MemberData(nameof(Apps))]
    public async Task A_request_with_more_headers_than_MaxRequestHeaderCount_is_refused_with_431(string app)
    {
        // Arrange
        await using var running = await StartAsync(app, "--Kestrel:Limits:MaxRequestHeaderCount=5");
        var headers = string.Concat(Enumerable.Range(0, 5).Select(i => $"X-Extra-{i}: {i}\r\n"));

        // Act
        var response = await RawHttp.SendAsync(running.Url, $"GET /no-such-path HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}Connection: close\r\n\r\n");

        // Assert
        response.Status.Should().Be(431, response.Head);
    }

    [Theory]
    [MemberData(nameof(Apps))]
    public async Task A_connection_past_MaxConcurrentConnections_is_closed_unanswered(string app)
    {
        // Arrange
        await using var running = await StartAsync(app, "--Kestrel:Limits:MaxConcurrentConnections=2");
        using var held = new ConnectionsHeld(running.Url);
        await held.OpenAsync(2);

        // Act
        var answer = await held.AskOnANewConnectionAsync();

        // Assert
        answer.Should().BeEmpty("the server closes a connection over its limit without reading it");
    }

    [Theory]
    [InlineData("DevTool", "/dashboard/settings")]
    [InlineData("UserApp", "/listeners")]
    public async Task With_its_shipped_settings_an_app_closes_connections_past_1000(string app, string readyPath)
    {
        // Arrange: a process in its own folder, so that it reads its own appsettings.json (in process, every app would
        // read the one file of that name the build left beside the tests).
        using var running = AppProcess.Start(app, FreePort.Next(), null);
        await running.WaitReadyAsync(readyPath);
        using var held = new ConnectionsHeld(running.Url);
        await held.OpenAsync(1000);

        // Act
        var answer = await held.AskOnANewConnectionAsync();

        // Assert: a dashboard or a sample app has no use for more, and a runaway script should not hold more.
        answer.Should().BeEmpty("the 1,001st connection is over Kestrel:Limits:MaxConcurrentConnections in appsettings.json");
    }

    [Theory]
    [InlineData("Broker", "/messages")]
    [InlineData("DevTool", "/messages")]
    [InlineData("UserApp", "/dispatch")]
    public async Task A_body_slower_than_MinRequestBodyDataRate_is_a_408_problem_naming_the_setting_that_closes_the_connection(string app, string path)
    {
        // Arrange: a kept-alive request, as a client that reuses its connection sends it.
        await using var running = await StartAsync(app, "--Kestrel:Limits:MinRequestBodyDataRate:GracePeriod=00:00:02");
        var head = RawHttp.PostJson(path, chunked: false, 100).Replace("Connection: close\r\n", "");

        // Act: one byte of the promised hundred, then a pause well past the grace period.
        var response = await RawHttp.SendAsync(running.Url, head, async (stream, ct) =>
        {
            await stream.WriteAsync("{"u8.ToArray(), ct);
            await Task.Delay(TimeSpan.FromSeconds(6), ct);
        });

        // Assert
        response.ShouldBeProblem(408).GetProperty("detail").GetString().Should().Contain("Kestrel:Limits:MinRequestBodyDataRate");

        // The rest of the body is never read, so the connection ends: said in the answer, or a client sends its next
        // request down it and sees it reset.
        response.Header("Connection").Should().Be("close");
    }

    /// <summary>The app in process on a real socket (the broker on a database file of its own, removed with it).</summary>
    private static async Task<Running> StartAsync(string app, params string[] args)
    {
        if (app == "Broker")
        {
            var broker = await KestrelBroker.StartAsync(args);
            return new(broker.Url, broker);
        }

        var started = await KestrelApp.StartAsync(app == "DevTool" ? WonderQ.DevTool.Program.CreateApp : WonderQ.UserApp.Program.CreateApp, 0, args);
        return new(started.Url, started);
    }

    private sealed record Running(Uri Url, IAsyncDisposable App) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => App.DisposeAsync();
    }

    /// <summary>Connections that each had a request answered, so the server counts them, and are kept open.</summary>
    private sealed class ConnectionsHeld(Uri url) : IDisposable
    {
        private readonly List<TcpClient> _open = [];

        /// <summary>
        /// A connection the server closes is tried again for a while: one the test closed just before (its readiness
        /// check) may still be counted until the server sees it go.
        /// </summary>
        public async Task OpenAsync(int count)
        {
            for (var i = 0; i < count; i++)
            {
                await Eventually.TrueAsync(
                    async () =>
                    {
                        var tcp = new TcpClient();
                        if ((await AskOrNothingAsync(tcp)).StartsWith("HTTP/1.1 ", StringComparison.Ordinal))
                        {
                            _open.Add(tcp);
                            return true;
                        }

                        tcp.Dispose();
                        return false;
                    },
                    $"connection {i + 1} is answered, within the limit",
                    TimeSpan.FromSeconds(10));
            }
        }

        /// <summary>What the server answers a request on one more connection: nothing, if it closes it.</summary>
        public async Task<string> AskOnANewConnectionAsync()
        {
            using var tcp = new TcpClient();
            return await AskOrNothingAsync(tcp);
        }

        public void Dispose() => _open.ForEach(tcp => tcp.Dispose());

        /// <summary>
        /// Sends a request that keeps its connection open and reads the start of the answer; nothing when the server
        /// closes or resets the connection instead.
        /// </summary>
        private async Task<string> AskOrNothingAsync(TcpClient tcp)
        {
            try
            {
                return await AskAsync(tcp);
            }
            catch (IOException)
            {
                return "";
            }
        }

        private async Task<string> AskAsync(TcpClient tcp)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await tcp.ConnectAsync(url.Host, url.Port, timeout.Token);
            var stream = tcp.GetStream();
            await stream.WriteAsync("GET /no-such-path HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"u8.ToArray(), timeout.Token);
            var buffer = new byte[64];
            var read = await stream.ReadAsync(buffer, timeout.Token);
            return Encoding.ASCII.GetString(buffer, 0, read);
        }
    }
}
