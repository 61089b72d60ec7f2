using Microsoft.AspNetCore.Builder;
using WonderQ.Shared.Client;

namespace WonderQ.DevTool.Tests.Browser;

/// <summary>
/// The broker and the DevTool on real sockets (127.0.0.1, ports chosen by the OS), for a real browser. The broker
/// can be stopped and started again on the same port and database file, as a developer restarting it would.
/// </summary>
public class LiveApps : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("wonderq-devtool-browser-").FullName;
    private WebApplication? _broker;
    private WebApplication? _devTool;

    public Uri BrokerUrl { get; private set; } = null!;

    public Uri DevToolUrl { get; private set; } = null!;

    /// <summary>A typed client straight to the broker, to arrange what the page should then show.</summary>
    public BrokerClient BrokerClient { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _broker = await StartBrokerAsync(port: 0);
        BrokerUrl = new Uri(_broker.Urls.Single());
        BrokerClient = new BrokerClient(new HttpClient { BaseAddress = BrokerUrl });

        _devTool = WonderQ.DevTool.Program.CreateApp(
        [
            "--urls=http://127.0.0.1:0",
            $"--Broker:Url={BrokerUrl}",
            // The page should learn within a poll or two that the broker is gone.
            "--Broker:MaxRetries=0",
            "--Broker:AttemptTimeout=00:00:02",
            "--Broker:TotalTimeout=00:00:02",
            "--Logging:LogLevel:Default=Warning",
            .. DevToolSettings,
        ]);
        await _devTool.StartAsync();
        DevToolUrl = new Uri(_devTool.Urls.Single());
    }

    /// <summary>Settings of a test class's own for the DevTool, after the ones above.</summary>
    protected virtual IEnumerable<string> DevToolSettings => [];

    public async Task StopBrokerAsync()
    {
        if (_broker is { } broker)
        {
            _broker = null;
            await broker.StopAsync();
            await broker.DisposeAsync();
        }
    }

    public async Task RestartBrokerAsync()
    {
        await StopBrokerAsync();
        _broker = await StartBrokerAsync(BrokerUrl.Port);
    }

    public async Task DisposeAsync()
    {
        if (_devTool is not null)
        {
            await _devTool.StopAsync();
            await _devTool.DisposeAsync();
        }

        await StopBrokerAsync();
        TempDirectory.Delete(_directory);
    }

    private async Task<WebApplication> StartBrokerAsync(int port)
    {
        var broker = WonderQ.Broker.Program.CreateApp(
        [
            $"--urls=http://127.0.0.1:{port}",
            $"--Storage:Sqlite:Path={Path.Combine(_directory, "wonderq.db")}",
            "--Logging:LogLevel:Default=Warning",
        ]);
        await broker.StartAsync();
        return broker;
    }
}
