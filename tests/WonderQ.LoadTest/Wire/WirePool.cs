using System.Net;
using System.Net.Sockets;
using System.Text;

namespace WonderQ.LoadTest.Wire;

/// <summary>
/// At most <c>maxConnections</c> <see cref="WireConnection"/>s to one plain-HTTP server, opened when needed and reused
/// last-in first-out; when all are busy a caller waits for one. The host name is resolved once.
/// </summary>
internal sealed class WirePool : IDisposable
{
    /// <summary>An idle connection older than this is checked for a close by the server before it is reused.</summary>
    private const long CheckIdleAfterMs = 1_000;

    private static readonly TimeSpan _connectTimeout = TimeSpan.FromSeconds(30);

    private readonly SemaphoreSlim _slots;
    private readonly Stack<WireConnection> _idle = new();
    private readonly Lock _lock = new();
    private readonly string _host;
    private readonly int _port;
    private Task<IPAddress[]>? _addresses;
    private int _preferred;
    private int _opened;
    private bool _disposed;

    /// <param name="baseUrl">An absolute <c>http</c> URL; its path is the prefix of every request's target.</param>
    public WirePool(Uri baseUrl, int maxConnections)
    {
        if (baseUrl.Scheme != Uri.UriSchemeHttp)
        {
            throw new ArgumentException($"The wire client speaks plain HTTP only; '{baseUrl}' is not an http URL.", nameof(baseUrl));
        }

        _host = baseUrl.DnsSafeHost;
        _port = baseUrl.Port;
        _slots = new SemaphoreSlim(maxConnections, maxConnections);
        // An IPv6 literal keeps its brackets (IdnHost drops them): "Host: ::1:3213" is a 400 from any server.
        var host = baseUrl.HostNameType == UriHostNameType.IPv6 ? baseUrl.Host : baseUrl.IdnHost;
        HostHeader = Encoding.ASCII.GetBytes(baseUrl.IsDefaultPort ? host : $"{host}:{baseUrl.Port}");
        BasePath = Encoding.ASCII.GetBytes(baseUrl.AbsolutePath.EndsWith('/') ? baseUrl.AbsolutePath : baseUrl.AbsolutePath + "/");
    }

    /// <summary>The Host header's value (host[:port]), ASCII.</summary>
    public byte[] HostHeader { get; }

    /// <summary>The base URL's path, ending with '/', ASCII (already escaped).</summary>
    public byte[] BasePath { get; }

    /// <summary>Connections opened so far (each reused as long as it lasts).</summary>
    public int Opened => Volatile.Read(ref _opened);

    /// <summary>Connections open and not lent out.</summary>
    public int Idle
    {
        get
        {
            lock (_lock)
            {
                return _idle.Count;
            }
        }
    }

    /// <summary>
    /// A connection for one exchange, cleared for the next request: the most recently returned idle one, else a new
    /// one while fewer than the limit are open, else the next one returned. Hand it back with <see cref="Return"/>.
    /// </summary>
    public async ValueTask<WireConnection> RentAsync(CancellationToken ct)
    {
        await _slots.WaitAsync(ct);
        try
        {
            while (TryPopIdle() is { } idle)
            {
                if (Environment.TickCount64 - idle.IdleSince < CheckIdleAfterMs || !idle.ReadableWhileIdle())
                {
                    idle.Reset();
                    return idle;
                }

                // The server closed it while it sat idle (its keep-alive timeout): never send on it.
                idle.Dispose();
            }

            var connection = new WireConnection(await ConnectAsync(ct));
            Interlocked.Increment(ref _opened);
            return connection;
        }
        catch
        {
            _slots.Release();
            throw;
        }
    }

    /// <summary>Takes a connection back: kept for reuse if its last exchange left it reusable, else closed.</summary>
    public void Return(WireConnection connection)
    {
        var keep = connection.IsReusable;
        if (keep)
        {
            lock (_lock)
            {
                keep = !_disposed;
                if (keep)
                {
                    _idle.Push(connection);
                }
            }
        }

        if (!keep)
        {
            connection.Dispose();
        }

        _slots.Release();
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            while (_idle.TryPop(out var connection))
            {
                connection.Dispose();
            }
        }
    }

    private WireConnection? TryPopIdle()
    {
        lock (_lock)
        {
            return _idle.TryPop(out var connection) ? connection : null;
        }
    }

    /// <summary>A socket connected to the server (also what <see cref="H2Pool"/> opens its connections with).</summary>
    internal async Task<Socket> ConnectAsync(CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_connectTimeout);
        IPAddress[] addresses;
        try
        {
            addresses = await Resolve(timeout.Token);
        }
        catch (SocketException ex)
        {
            throw new HttpRequestException(HttpRequestError.NameResolutionError, $"{ex.Message} ({_host}:{_port})", ex);
        }

        if (addresses.Length == 0)
        {
            throw new HttpRequestException(HttpRequestError.NameResolutionError, $"'{_host}' has no address.");
        }

        // Try the address that worked last first, then the others in order.
        var first = Volatile.Read(ref _preferred);
        Exception? last = null;
        for (var i = 0; i < addresses.Length; i++)
        {
            var index = (first + i) % addresses.Length;
            var socket = new Socket(addresses[index].AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(addresses[index], _port), timeout.Token);
                Volatile.Write(ref _preferred, index);
                return socket;
            }
            catch (Exception ex)
            {
                socket.Dispose();
                ct.ThrowIfCancellationRequested();
                last = ex;
            }
        }

        throw last is OperationCanceledException
            ? new HttpRequestException(
                HttpRequestError.ConnectionError, $"Connecting to {_host}:{_port} took longer than {_connectTimeout.TotalSeconds:0} s.", last)
            : new HttpRequestException(HttpRequestError.ConnectionError, $"{last!.Message} ({_host}:{_port})", last);
    }

    /// <summary>The server's addresses, looked up once (an IP literal is its own address; a failed lookup is retried).</summary>
    private Task<IPAddress[]> Resolve(CancellationToken ct)
    {
        var lookup = Volatile.Read(ref _addresses);
        if (lookup is null || lookup.IsFaulted || lookup.IsCanceled)
        {
            var fresh = IPAddress.TryParse(_host, out var literal)
                ? Task.FromResult<IPAddress[]>([literal])
                : Dns.GetHostAddressesAsync(_host, CancellationToken.None);
            lookup = Interlocked.CompareExchange(ref _addresses, fresh, lookup) == lookup ? fresh : Volatile.Read(ref _addresses)!;
        }

        return lookup.WaitAsync(ct);
    }
}
