namespace WonderQ.LoadTest.Wire;

/// <summary>
/// A fixed number of <see cref="H2Connection"/>s to one h2c server, opened when first needed and again when one
/// fails; each request goes to the one with the most free slots.
/// </summary>
internal sealed class H2Pool(WirePool connector, int connections, int streamsPerConnection) : IDisposable
{
    private readonly H2Connection?[] _connections = new H2Connection?[connections];
    private readonly List<H2Connection> _retired = [];
    private readonly SemaphoreSlim _opening = new(1, 1);
    private int _next;
    private int _opened;

    /// <summary>Connections opened so far.</summary>
    public int Opened => Volatile.Read(ref _opened);

    /// <summary>A connection with a slot reserved for one request: call its <see cref="H2Connection.Start"/> next.</summary>
    public async ValueTask<H2Connection> ReserveAsync(CancellationToken ct)
    {
        var start = (int)((uint)Interlocked.Increment(ref _next) % (uint)_connections.Length);
        var best = start;
        for (var i = 0; i < _connections.Length; i++)
        {
            var index = (start + i) % _connections.Length;
            var candidate = Volatile.Read(ref _connections[index]);
            if (candidate is null || !candidate.IsUsable)
            {
                best = index;
                break;
            }

            if (candidate.InFlight < Volatile.Read(ref _connections[best])!.InFlight)
            {
                best = index;
            }
        }

        var connection = await GetAsync(best, ct);
        await connection.ReserveAsync(ct);
        return connection;
    }

    public void Dispose()
    {
        List<H2Connection> all;
        lock (_retired)
        {
            all = [.. _connections.OfType<H2Connection>(), .. _retired];
        }

        foreach (var connection in all)
        {
            connection.Dispose();
        }
    }

    private async ValueTask<H2Connection> GetAsync(int index, CancellationToken ct)
    {
        if (Volatile.Read(ref _connections[index]) is { IsUsable: true } open)
        {
            return open;
        }

        await _opening.WaitAsync(ct);
        try
        {
            if (_connections[index] is { IsUsable: true } opened)
            {
                return opened;
            }

            // Set aside, not disposed: after a GOAWAY the server still answers the requests it took, and the
            // connection closes itself once they are in (disposing it would fail them). The pool's end disposes it.
            if (_connections[index] is { } replaced)
            {
                lock (_retired)
                {
                    _retired.Add(replaced);
                }
            }

            var fresh = await H2Connection.OpenAsync(await connector.ConnectAsync(ct), streamsPerConnection, ct);
            Volatile.Write(ref _connections[index], fresh);
            Interlocked.Increment(ref _opened);
            return fresh;
        }
        finally
        {
            _opening.Release();
        }
    }
}
