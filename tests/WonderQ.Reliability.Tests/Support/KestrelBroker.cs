using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace WonderQ.Reliability.Tests.Support;

/// <summary>
/// The broker in process behind a real Kestrel socket on a loopback port: what TestServer does not do (request line,
/// header and body size limits enforced by the server itself) is tested here.
/// </summary>
public class KestrelBroker : IAsyncLifetime
{
    private readonly TempDatabase _database = new();
    private readonly string[] _extraArgs;
    private WebApplication? _app;

    public KestrelBroker()
        : this([])
    {
    }

    /// <summary>With extra command-line settings (<c>--Auth:ApiKeys:0=...</c>) for a fixture that needs them.</summary>
    protected KestrelBroker(string[] extraArgs) => _extraArgs = extraArgs;

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Every address the broker listens on; <see cref="BaseAddress"/> is the first.</summary>
    public IReadOnlyList<Uri> Addresses { get; private set; } = [];

    public IServiceProvider Services => _app!.Services;

    public async Task InitializeAsync()
    {
        _app = WonderQ.Broker.Program.CreateApp(
        [
            "--urls", "http://127.0.0.1:0",
            $"--Storage:Sqlite:Path={_database.Path}",
            "--Logging:LogLevel:Default=Warning",
            "--environment", "Production",
            .. _extraArgs,
        ]);
        await _app.StartAsync();
        Addresses = [.. _app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Select(a => new Uri(a))];
        BaseAddress = Addresses[0];
    }

    public HttpClient CreateClient() => new() { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        _database.Dispose();
    }
}
