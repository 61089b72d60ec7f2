using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace WonderQ.Broker.Tests.LoadTool;

/// <summary>
/// A tiny real Kestrel server on a loopback port that answers the ways an HTTP/1.1 server may: with a Content-Length,
/// chunked (flushed in pieces), with <c>Connection: close</c>, cut off mid-body, or not at all until the client leaves.
/// Every answer names the server-side connection it went out on, so a test sees whether the client reused it.
/// </summary>
public sealed class WireTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _inFlight;
    private int _connectionsEnded;
    private int _peakInFlight;

    private WireTestServer(WebApplication app) => _app = app;

    public Uri Url { get; private set; } = null!;

    /// <summary>Released by a test to let every parked <c>GET /hold</c> answer.</summary>
    public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The most <c>GET /hold</c> requests the server held at once.</summary>
    public int PeakInFlight => Volatile.Read(ref _peakInFlight);

    /// <summary>Connections the server has finished with (closed by it or by the client).</summary>
    public int ConnectionsEnded => Volatile.Read(ref _connectionsEnded);

    /// <summary>Set when a request's <c>RequestAborted</c> fired (the client closed its connection mid-request).</summary>
    public TaskCompletionSource ClientLeft { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <param name="http2">Serve HTTP/2 without TLS (h2c) instead of HTTP/1.1.</param>
    public static async Task<WireTestServer> StartAsync(TimeSpan? keepAliveTimeout = null, bool http2 = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        WireTestServer? server = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            if (keepAliveTimeout is { } timeout)
            {
                kestrel.Limits.KeepAliveTimeout = timeout;
            }

            kestrel.Listen(IPAddress.Loopback, 0, listen =>
            {
                listen.Protocols = http2 ? HttpProtocols.Http2 : HttpProtocols.Http1;
                listen.Use(next => async connection =>
                {
                    await next(connection);

                    // Close the socket before counting (Kestrel would a moment later), so a test that sees the count
                    // knows the client can see the close.
                    await connection.DisposeAsync();
                    Interlocked.Increment(ref server!._connectionsEnded);
                });
            });
        });
        builder.Logging.ClearProviders();
        var app = builder.Build();
        server = new WireTestServer(app);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        var addresses = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>();
        server.Url = new Uri(addresses.Addresses.First() + "/");
        return server;
    }

    /// <summary>
    /// A graceful stop, as a server's shutdown: no new connections, a GOAWAY on HTTP/2, and the requests already taken
    /// answered once they finish (a held one, once <see cref="Release"/> is set).
    /// </summary>
    public Task StopAsync() => _app.StopAsync();

    public async ValueTask DisposeAsync()
    {
        Release.TrySetResult();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var connection = context.Connection.Id;
        switch (request.Path.Value)
        {
            case "/length":
                await WriteAsync(context, 200, $"length on {connection}");
                break;
            case "/chunked":
                // No Content-Length and two flushes: Kestrel sends it chunked, one chunk per flush.
                response.StatusCode = 200;
                await response.WriteAsync("chunked ");
                await response.Body.FlushAsync();
                await Task.Delay(20);
                await response.WriteAsync($"on {connection}");
                await response.Body.FlushAsync();
                break;
            case "/close":
                response.Headers.Connection = "close";
                await WriteAsync(context, 200, $"close on {connection}");
                break;
            case "/big":
                // n bytes of a repeating pattern, with a Content-Length or (chunked=true) in 16 KiB flushed pieces.
                var n = int.Parse(request.Query["n"]!, CultureInfo.InvariantCulture);
                var body = Pattern(n);
                response.StatusCode = 200;
                if (request.Query["chunked"] == "true")
                {
                    for (var at = 0; at < n; at += 16 * 1024)
                    {
                        await response.Body.WriteAsync(body.AsMemory(at, Math.Min(16 * 1024, n - at)));
                        await response.Body.FlushAsync();
                    }
                }
                else
                {
                    response.ContentLength = n;
                    await response.Body.WriteAsync(body);
                }

                break;
            case "/cut":
                // Promises 1,000 bytes, sends 10, and drops the connection.
                response.StatusCode = 200;
                response.ContentLength = 1000;
                await response.WriteAsync("0123456789");
                await response.Body.FlushAsync();
                context.Abort();
                break;
            case "/hold":
                var now = Interlocked.Increment(ref _inFlight);
                InterlockedMax(ref _peakInFlight, now);
                try
                {
                    await Release.Task.WaitAsync(context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    ClientLeft.TrySetResult();
                    return;
                }
                finally
                {
                    Interlocked.Decrement(ref _inFlight);
                }

                await WriteAsync(context, 200, $"held on {connection}");
                break;
            case "/echo":
                // 201 with the request's Content-Type and body.
                using (var reader = new StreamReader(request.Body, Encoding.UTF8))
                {
                    var text = await reader.ReadToEndAsync();
                    await WriteAsync(context, 201, $"{request.Method} {request.ContentType} {request.ContentLength} {text}");
                }

                break;
            default:
                await WriteAsync(context, 404, "no such path");
                break;
        }
    }

    public static byte[] Pattern(int n)
    {
        var bytes = new byte[n];
        for (var i = 0; i < n; i++)
        {
            bytes[i] = (byte)('a' + (i % 26));
        }

        return bytes;
    }

    private static Task WriteAsync(HttpContext context, int status, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain";
        context.Response.ContentLength = bytes.Length;
        return context.Response.Body.WriteAsync(bytes).AsTask();
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
