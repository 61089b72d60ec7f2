using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace WonderQ.Broker.Tests.Storage.Postgres;

/// <summary>
/// A TCP relay between a broker and the PostgreSQL server that can stop passing bytes on, as a frozen server or a
/// network that drops packets would: its connections stay open and nothing comes back on them, so only the broker's
/// own timeouts notice. Connections opened while it is silent are taken and go as silent.
/// </summary>
internal sealed class SilentLink : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<TcpClient> _sockets = [];
    private readonly string _host;
    private readonly int _port;
    private readonly Task _accepting;
    private TaskCompletionSource _passing = Passing();

    /// <param name="connectionString">The server's; <see cref="ConnectionString"/> is the same through the relay.</param>
    public SilentLink(string connectionString)
    {
        var server = new NpgsqlConnectionStringBuilder(connectionString);
        (_host, _port) = (server.Host!, server.Port);
        _listener.Start();
        ConnectionString = new NpgsqlConnectionStringBuilder(connectionString)
        {
            Host = "127.0.0.1",
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port,
        }.ConnectionString;
        _accepting = AcceptAsync();
    }

    public string ConnectionString { get; }

    public void Silence() => Volatile.Write(ref _passing, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public void Resume() => Volatile.Read(ref _passing).TrySetResult();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        foreach (var socket in _sockets)
        {
            socket.Dispose();
        }

        try
        {
            await _accepting;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private static TaskCompletionSource Passing()
    {
        var passing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        passing.SetResult();
        return passing;
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException && _stop.IsCancellationRequested)
            {
                return;
            }

            var server = new TcpClient();
            _sockets.Add(client);
            _sockets.Add(server);
            await server.ConnectAsync(_host, _port, _stop.Token);
            _ = PassAsync(client, server);
            _ = PassAsync(server, client);
        }
    }

    /// <summary>Each read passed on once the link passes bytes, until either side closes.</summary>
    private async Task PassAsync(TcpClient from, TcpClient to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await from.GetStream().ReadAsync(buffer, _stop.Token)) > 0)
            {
                await Volatile.Read(ref _passing).Task.WaitAsync(_stop.Token);
                await to.GetStream().WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }

            to.Client.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // One side gone: the other goes with it, as a server's end of a dropped connection does.
            to.Dispose();
        }
    }
}
