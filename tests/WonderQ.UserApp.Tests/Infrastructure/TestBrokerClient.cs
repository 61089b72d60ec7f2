using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using WonderQ.Shared.Client;

namespace WonderQ.UserApp.Tests.Infrastructure;

/// <summary>The typed client as an app gets it from <c>AddBrokerClient</c>, configured from in-memory settings.</summary>
public sealed class TestBrokerClient : IDisposable
{
    private readonly ServiceProvider _services;

    public TestBrokerClient(Uri url, IDictionary<string, string?>? settings = null, TimeProvider? time = null)
    {
        var values = new Dictionary<string, string?>
        {
            ["Broker:Url"] = url.ToString(),
            ["Broker:RetryBaseDelay"] = "00:00:00.050",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            values[key] = value;
        }

        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(values).Build());
        services.AddLogging();
        if (time is not null)
        {
            services.AddSingleton(time);
        }

        services.AddBrokerClient();
        _services = services.BuildServiceProvider();
    }

    public BrokerClient Client => _services.GetRequiredService<BrokerClient>();

    public void Dispose() => _services.Dispose();
}
