using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace WonderQ.UserApp.Tests.Client;

/// <summary>
/// A real local HTTP endpoint in front of a real broker that passes every request on and every answer back, but the
/// first answer to one method loses: the broker has done the work, and the client gets a reset connection or a 502
/// instead (an answer lost on the way, a proxy whose upstream broke mid-answer), or, as a broker killed after its commit
/// leaves it, a connection closed without a byte of answer.
/// </summary>
public sealed class LosingRelay : IAsyncDisposable
{
    private static readonly string[] _passedOn = ["Authorization", "Content-Type"];

    private readonly WebApplication _app;
    private readonly HttpClient _broker;
    private int _lost;
    private int _forwarded;

    private LosingRelay(WebApplication app, Uri broker)
    {
        _app = app;
        _broker = new HttpClient { BaseAddress = broker };
    }

    public Uri Url { get; private set; } = null!;

    /// <summary>Requests the broker handled through this relay, the one whose answer was lost among them.</summary>
    public int Forwarded => Volatile.Read(ref _forwarded);

    /// <param name="method">The method whose first answer is lost.</param>
    /// <param name="reset">The connection is reset rather than answered 502.</param>
    /// <param name="whileLost">Done once the broker has answered the request whose answer is lost, before the client learns of the loss.</param>
    /// <param name="closed">
    /// The connection is closed unanswered, as the kernel closes a killed broker's (a FIN after the whole request was read,
    /// not a reset): on a connection kept alive from an earlier request, HttpClient takes that for a server that closed an
    /// idle connection, and sends a request without a body again on a new one by itself.
    /// </param>
    public static async Task<LosingRelay> StartAsync(Uri broker, string method, bool reset, Func<Task>? whileLost = null, bool closed = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var relay = new LosingRelay(app, broker);
        app.Run(async context =>
        {
            using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), context.Request.Path + context.Request.QueryString);
            var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            if (body.Length > 0)
            {
                request.Content = new ByteArrayContent(body.ToArray());
            }

            foreach (var name in _passedOn)
            {
                if (context.Request.Headers.TryGetValue(name, out var value)
                    && !request.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)value))
                {
                    request.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)value);
                }
            }

            using var answer = await relay._broker.SendAsync(request, context.RequestAborted);
            Interlocked.Increment(ref relay._forwarded);
            if (context.Request.Method == method && Interlocked.Exchange(ref relay._lost, 1) == 0)
            {
                if (whileLost is not null)
                {
                    await whileLost();
                }

                if (closed)
                {
                    context.Features.Get<IConnectionSocketFeature>()!.Socket.Shutdown(SocketShutdown.Send);
                    try
                    {
                        // Until the client has read the end of the connection and let it go.
                        await Task.Delay(TimeSpan.FromSeconds(10), context.RequestAborted);
                    }
                    catch (OperationCanceledException)
                    {
                    }

                    context.Abort();
                    return;
                }

                if (reset)
                {
                    context.Abort();
                    return;
                }

                context.Response.StatusCode = StatusCodes.Status502BadGateway;
                context.Response.ContentType = "text/html";
                await context.Response.WriteAsync("<html><body>502 Bad Gateway</body></html>");
                return;
            }

            context.Response.StatusCode = (int)answer.StatusCode;
            if (answer.Content.Headers.ContentType is { } type)
            {
                context.Response.ContentType = type.ToString();
            }

            await answer.Content.CopyToAsync(context.Response.Body);
        });
        await app.StartAsync();
        relay.Url = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return relay;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _broker.Dispose();
    }
}
