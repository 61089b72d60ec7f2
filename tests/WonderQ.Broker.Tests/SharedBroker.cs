namespace WonderQ.Broker.Tests;

/// <summary>
/// One broker for a whole test class (<c>IClassFixture&lt;SharedBroker&gt;</c>); each test works in queues of its own.
/// A class's tests run one at a time, so one may move the fake clock forward to run a visibility timeout out: the others
/// read it only relative to the moment. A test that parks consumers or counts them takes a <see cref="FreshBroker"/>.
/// </summary>
public class SharedBroker : IAsyncLifetime
{
    public SharedBroker()
        : this(new BrokerApplication())
    {
    }

    protected SharedBroker(BrokerApplication app) => App = app;

    public BrokerApplication App { get; }

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

/// <summary>A <see cref="SharedBroker"/> on PostgreSQL, for the contract tests that run against both stores.</summary>
public sealed class PostgresSharedBroker() : SharedBroker(BrokerApplication.OnPostgres());
