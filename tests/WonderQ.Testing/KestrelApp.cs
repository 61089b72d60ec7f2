using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace WonderQ.Testing;

/// <summary>
/// One of the apps in process behind a real Kestrel socket on 127.0.0.1: what TestServer does not do (the server's
/// own limits, refused connections, a restart on the same port) is genuine here.
/// </summary>
public sealed class KestrelApp : IAsyncDisposable
{
    private readonly WebApplication _app;
    private bool _stopped;

    private KestrelApp(WebApplication app)
    {
        _app = app;
        Addresses = [.. app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Select(a => new Uri(a))];
    }

    /// <summary>Every address the app listens on; <see cref="Url"/> is the first.</summary>
    public IReadOnlyList<Uri> Addresses { get; }

    public Uri Url => Addresses[0];

    public IServiceProvider Services => _app.Services;

    /// <summary>Starts <paramref name="create"/>'s app on <paramref name="port"/> (0: one the OS picks); <paramref name="args"/> come last and win.</summary>
    public static async Task<KestrelApp> StartAsync(Func<string[], WebApplication> create, int port, IEnumerable<string> args)
    {
        var app = create(
        [
            "--urls", $"http://127.0.0.1:{port}",
            "--Logging:LogLevel:Default=Warning",
            "--environment", "Production",
            .. args,
        ]);
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return new KestrelApp(app);
    }

    public HttpClient CreateClient() => new() { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(60) };

    public async ValueTask DisposeAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
