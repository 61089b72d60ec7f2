using Microsoft.AspNetCore.Builder;

namespace WonderQ.Testing;

/// <summary>
/// A real broker with the DevTool or the UserApp in front of it, each in process on a real socket, the app reaching the
/// broker through its typed client. The broker can be stopped and restarted mid-test, to see what the app says.
/// </summary>
public abstract class FrontedApp(string[] brokerArgs, string[] appArgs) : IAsyncLifetime, IAsyncDisposable
{
    private KestrelApp? _app;

    public KestrelBroker Broker { get; } = new(brokerArgs);

    public Uri BrokerUrl => Broker.Url;

    public Uri Url => _app!.Url;

    public async Task InitializeAsync()
    {
        await Broker.InitializeAsync();
        _app = await KestrelApp.StartAsync(CreateApp, port: 0, [$"--Broker:Url={Broker.Url}", .. appArgs]);
    }

    public HttpClient CreateClient() => _app!.CreateClient();

    public HttpClient CreateBrokerClient() => Broker.CreateClient();

    public Task StopBrokerAsync() => Broker.StopAsync();

    public Task RestartBrokerAsync() => Broker.RestartAsync();

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        await Broker.DisposeAsync();
    }

    async ValueTask IAsyncDisposable.DisposeAsync() => await DisposeAsync();

    protected abstract WebApplication CreateApp(string[] args);
}
