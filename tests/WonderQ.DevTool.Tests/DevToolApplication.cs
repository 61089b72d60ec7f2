using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using WonderQ.Shared.Client;

namespace WonderQ.DevTool.Tests;

/// <summary>The broker in-process on a temp SQLite file, reached through the test server rather than a socket.</summary>
public sealed class BrokerApplication : WebApplicationFactory<WonderQ.Broker.Program>
{
    private readonly TempDatabase _database = new();

    public string DatabasePath => _database.Path;

    protected override IHost CreateHost(IHostBuilder builder) => InProcessStart.Start(builder, base.CreateHost);

    protected override void ConfigureWebHost(IWebHostBuilder builder) =>
        // A file of its own, so no test class sees another's queues.
        builder.UseSetting("Storage:Sqlite:Path", _database.Path);

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        _database.Dispose();
    }
}

/// <summary>
/// The DevTool in-process, its typed broker client sending through <paramref name="brokerHandler"/> (the broker's
/// test server, or a stand-in that misbehaves) or, when that is null, over real sockets to <paramref name="brokerUrl"/>.
/// <paramref name="configure"/> adds settings or services of a test's own.
/// </summary>
public sealed class DevToolApplication(
    Func<HttpMessageHandler>? brokerHandler, string brokerUrl = "http://localhost/", Action<IWebHostBuilder>? configure = null)
    : WebApplicationFactory<Program>
{
    protected override IHost CreateHost(IHostBuilder builder) => InProcessStart.Start(builder, base.CreateHost);

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Broker:Url", brokerUrl);
        // One attempt and short timeouts: the failure tests should learn quickly that the broker is not there.
        builder.UseSetting("Broker:MaxRetries", "0");
        builder.UseSetting("Broker:AttemptTimeout", "00:00:05");
        builder.UseSetting("Broker:TotalTimeout", "00:00:05");
        if (brokerHandler is not null)
        {
            builder.ConfigureServices(services => services.AddHttpClient<BrokerClient>().ConfigurePrimaryHttpMessageHandler(brokerHandler));
        }

        configure?.Invoke(builder);
    }
}

/// <summary>A broker and a DevTool in front of it, shared by the tests of one class.</summary>
public sealed class BrokerAndDevTool : IAsyncLifetime
{
    public BrokerApplication Broker { get; } = new();

    public DevToolApplication DevTool { get; private set; } = null!;

    /// <summary>A typed client straight to the broker, to arrange what the DevTool should then show.</summary>
    public BrokerClient BrokerClient { get; private set; } = null!;

    public Task InitializeAsync()
    {
        DevTool = new DevToolApplication(() => Broker.Server.CreateHandler());
        BrokerClient = new BrokerClient(Broker.CreateClient());
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await DevTool.DisposeAsync();
        await Broker.DisposeAsync();
    }
}
