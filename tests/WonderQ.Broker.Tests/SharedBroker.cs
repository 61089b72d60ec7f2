namespace WonderQ.Broker.Tests;

/// <summary>
/// One broker for a whole test class (<c>IClassFixture&lt;SharedBroker&gt;</c>); each test works in queues of its own.
/// A class's tests run one at a time, so one may move the fake clock forward to run a visibility timeout out: the others
/// read it only relative to the moment. A test that parks consumers or counts them takes a <see cref="FreshBroker"/>.
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
