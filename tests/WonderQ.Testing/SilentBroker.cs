using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;

namespace WonderQ.Testing;

/// <summary>
/// A broker that takes connections and reads what is sent but never answers, as one under SIGSTOP or hung does: only
/// the caller's own timeouts, or its giving up, end a call to it.
/// </summary>
public sealed class SilentBroker : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _connections = [];
    private readonly TaskCompletionSource _requested = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _accepting;

    public SilentBroker()
    {
        _listener.Start();
        Url = FreePort.Url(((IPEndPoint)_listener.LocalEndpoint).Port);
        _accepting = AcceptAsync();
    }

    public Uri Url { get; }

    /// <summary>Completes once a request has begun to arrive: a call is then waiting for an answer that never comes.</summary>
    public Task Requested => _requested.Task;

    /// <summary>
    /// Starts an app on this broker, sends it a request (a POST with a JSON body naming the queue "orders"), and once the
    /// request's call reaches the broker stops the app, as SIGTERM would: whether the stop was done within
    /// <paramref name="limit"/>, how long it took, and the request's answer.
    /// </summary>
    public async Task<(bool StoppedWithin, TimeSpan Took, HttpResponseMessage Answer)> StopWhileAskedAsync(
        Func<string[], WebApplication> createApp, string method, string path, TimeSpan limit)
    {
        var app = await KestrelApp.StartAsync(createApp, port: 0, [$"--Broker:Url={Url}"]);
        using var http = app.CreateClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), path)
        {
            Content = method == "POST" ? JsonContent.Create(new { queue_name = "orders", body = "hello" }) : null,
        };
        var answer = http.SendAsync(request);
        await Requested.WaitAsync(TimeSpan.FromSeconds(30));

        var clock = Stopwatch.StartNew();
        var stopping = app.DisposeAsync().AsTask();
        var stoppedWithin = await Task.WhenAny(stopping, Task.Delay(limit)) == stopping;
        var took = clock.Elapsed;
        await stopping;
        return (stoppedWithin, took, await answer);
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var connection = await _listener.AcceptTcpClientAsync(_stop.Token);
                lock (_connections)
                {
                    _connections.Add(connection);
                }

                _ = ReadAsync(connection);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task ReadAsync(TcpClient connection)
    {
        var buffer = new byte[4096];
        try
        {
            while (await connection.GetStream().ReadAsync(buffer, _stop.Token) > 0)
            {
                _requested.TrySetResult();
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        lock (_connections)
        {
            _connections.ForEach(c => c.Dispose());
        }

        _stop.Dispose();
    }
}
