using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace WonderQ.UserApp.Tests.Infrastructure;

/// <summary>
/// The real broker on Kestrel over a temp SQLite file: the UserApp reaches it through its typed client over a real
/// socket, so connection failures and restarts are the genuine article.
/// </summary>
public sealed class BrokerHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private bool _disposed;

    private BrokerHost(WebApplication app, Uri url, string databasePath)
    {
        _app = app;
        Url = url;
        DatabasePath = databasePath;
    }

    public Uri Url { get; }

    public string DatabasePath { get; }

    /// <summary>Starts a broker on <paramref name="port"/> (0: any free one) over the given database file.</summary>
    public static async Task<BrokerHost> StartAsync(string databasePath, int port = 0)
    {
        var app = WonderQ.Broker.Program.CreateApp(
        [
            "--urls", $"http://127.0.0.1:{port}",
            $"--Storage:Sqlite:Path={databasePath}",
            "--Logging:LogLevel:Default=Warning",
        ]);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new BrokerHost(app, new Uri(address), databasePath);
    }

    public static string NewDatabasePath() =>
        Path.Combine(Path.GetTempPath(), "wonderq-userapp-tests", Guid.NewGuid().ToString("N"), "q.db");

    /// <summary>Stops the broker and releases its database file, so another can start over it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
