using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace WonderQ.Reliability.Tests.Support;

/// <summary>
/// The broker in process on its own temp SQLite file. Extra settings (API keys, limits) are given per fixture; the
/// file goes away with the factory.
/// </summary>
public class BrokerFactory : WebApplicationFactory<WonderQ.Broker.Program>
{
    private readonly TempDatabase _database = new();
    private readonly Dictionary<string, string?> _settings;

    public BrokerFactory()
        : this([])
    {
    }

    protected BrokerFactory(IEnumerable<KeyValuePair<string, string?>> settings)
    {
        _settings = new Dictionary<string, string?>(settings)
        {
            ["Storage:Sqlite:Path"] = _database.Path,
            ["Logging:LogLevel:Default"] = "Warning",
        };
    }

    public string DatabasePath => _database.Path;

    protected override IHost CreateHost(IHostBuilder builder) => InProcessStart.Start(builder, base.CreateHost);

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        builder.ConfigureAppConfiguration((_, config) => config.AddInMemoryCollection(_settings));
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _database.Dispose();
        }
    }
}
