namespace WonderQ.Broker.Tests;

/// <summary>
/// One broker for a whole test class (<c>IClassFixture&lt;SharedBroker&gt;</c>), for tests that do not move the clock;
/// each test works in queues of its own.
/// </summary>
public sealed class SharedBroker : IAsyncLifetime
{
    public BrokerApplication App { get; } = new();

    public HttpClient Client { get; private set; } = null!;

    public Task InitializeAsync()
    {
        Client = App.CreateClient();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await App.DisposeAsync();
    }
}
