using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace WonderQ.Testing;

/// <summary>
/// Some other HTTP server where Broker:Url points (a mistyped port, say), on a real socket: it answers every request
/// as <c>python3 -m http.server</c> does a path it has no file for, a 404 HTML page, not a WonderQ problem+json (or,
/// as a proxy or rate limiter in front of a broker might, another status with an HTML page).
/// </summary>
public sealed class NotABroker : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _requests;

    private NotABroker(WebApplication app) => _app = app;

    public Uri Url { get; private set; } = null!;

    /// <summary>How many requests it has answered: the client must not retry its answer.</summary>
    public int Requests => Volatile.Read(ref _requests);

    public static async Task<NotABroker> StartAsync(int status = StatusCodes.Status404NotFound)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new NotABroker(app);
        app.Run(context =>
        {
            Interlocked.Increment(ref server._requests);
            context.Response.StatusCode = status;
            context.Response.ContentType = "text/html;charset=utf-8";
            return context.Response.WriteAsync($"<html><body><h1>Error response</h1><p>Error code: {status}</p></body></html>");
        });
        await app.StartAsync();
        server.Url = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
