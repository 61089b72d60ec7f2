using System.Buffers;
using System.Buffers.Text;
using System.Net.Sockets;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Text;

namespace WonderQ.LoadTest.Wire;

/// <summary>
/// One HTTP/1.1 keep-alive connection on a raw socket: the caller writes a whole request into <see cref="Request"/>,
/// <see cref="ExchangeAsync"/> sends it in one call and reads the whole response into a reusable buffer. One request
/// at a time, no pipelining. Any failure (a socket error, the server closing early, a malformed response, a
/// cancellation) closes the socket for good: a connection that failed is never used again.
/// </summary>
internal sealed class WireConnection : IDisposable
{
    /// <summary>The receive buffer's starting size; it grows for a larger response (10,000 connections may be open).</summary>
    public const int InitialBufferBytes = 4 * 1024;

    /// <summary>A grown receive buffer above this size goes back to the starting size after its response.</summary>
    private const int KeepBufferBytes = 64 * 1024;

    /// <summary>No response header block may be larger than this, and no body larger than <see cref="MaxBodyBytes"/>.</summary>
    private const int MaxHeaderBytes = 64 * 1024;

    private const int MaxBodyBytes = 64 * 1024 * 1024;

    private readonly Socket _socket;
    private byte[] _buffer = new byte[InitialBufferBytes];
    private int _filled;
    private int _bodyStart;
    private int _bodyLength;
    private int _aborted;
    private int _read;
    private int _written;

    private const string ChunkedEnded = "in the middle of a chunked response body";

    public WireConnection(Socket socket)
    {
        _socket = socket;
        IdleSince = Environment.TickCount64;
    }

    /// <summary>The next request, written whole (request line, headers, body) by the caller; cleared by <see cref="Reset"/>.</summary>
    public ArrayBufferWriter<byte> Request { get; } = new(256);

    /// <summary>The last response's status code.</summary>
    public int Status { get; private set; }

    /// <summary>The last response's body (decoded when chunked); valid until the connection is used again.</summary>
    public ReadOnlySpan<byte> Body => _buffer.AsSpan(_bodyStart, _bodyLength);

    /// <summary>The last exchange completed and the server keeps the connection open: it may carry another request.</summary>
    public bool IsReusable { get; private set; }

    /// <summary>When the connection last finished an exchange (<see cref="Environment.TickCount64"/>).</summary>
    public long IdleSince { get; private set; }

    /// <summary>The receive buffer's current size (tests check it grows and shrinks back).</summary>
    public int BufferBytes => _buffer.Length;

    /// <summary>Clears <see cref="Request"/> for the next request.</summary>
    public void Reset() => Request.ResetWrittenCount();

    /// <summary>
    /// Sends <see cref="Request"/> and reads the response; then <see cref="Status"/> and <see cref="Body"/> hold it.
    /// Throws <see cref="HttpRequestException"/> when the exchange failed and <see cref="OperationCanceledException"/>
    /// when <paramref name="ct"/> cancelled it (the socket is closed at once, so a pending long poll ends).
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask ExchangeAsync(CancellationToken ct)
    {
        if (!IsUsable)
        {
            throw new InvalidOperationException("This connection failed or was closed; it cannot carry another request.");
        }

        ct.ThrowIfCancellationRequested();
        IsReusable = false;
        var registration = ct.CanBeCanceled ? ct.UnsafeRegister(static state => ((WireConnection)state!).Abort(), this) : default;
        try
        {
            var request = Request.WrittenMemory;
            while (request.Length > 0)
            {
                // The registration above aborts the socket on cancellation: one registration per exchange, not per call.
                var sent = await _socket.SendAsync(request, SocketFlags.None, CancellationToken.None);
                request = request[sent..];
            }

            var keepAlive = await ReadResponseAsync();
            IsReusable = keepAlive;
        }
        catch (Exception ex)
        {
            Abort();
            if (ct.IsCancellationRequested)
            {
                throw new OperationCanceledException("The request was cancelled; its connection is closed.", ex, ct);
            }

            throw ex switch
            {
                HttpRequestException => ex,
                SocketException or ObjectDisposedException or IOException =>
                    new HttpRequestException(HttpRequestError.Unknown, "An error occurred while sending the request.", ex),
                _ => new HttpRequestException(HttpRequestError.Unknown, ex.Message, ex),
            };
        }
        finally
        {
            registration.Dispose();
        }

        // A cancellation that struck just after the response was read closed the socket: the answer stands, the
        // connection does not.
        if (Volatile.Read(ref _aborted) != 0)
        {
            IsReusable = false;
        }

        IdleSince = Environment.TickCount64;
    }

    /// <summary>False once the connection was closed: after a failure or cancellation, or when disposed.</summary>
    public bool IsUsable => Volatile.Read(ref _aborted) == 0;

    /// <summary>
    /// True when the idle connection has something to read: the server closed it (EOF) or sent something unasked.
    /// Either way it must not carry another request.
    /// </summary>
    public bool ReadableWhileIdle()
    {
        try
        {
            return _socket.Poll(0, SelectMode.SelectRead);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            return true;
        }
    }

    /// <summary>Closes the socket (any pending send or receive ends at once); idempotent and thread-safe.</summary>
    public void Abort()
    {
        if (Interlocked.Exchange(ref _aborted, 1) == 0)
        {
            IsReusable = false;
            _socket.Dispose();
        }
    }

    public void Dispose() => Abort();

    /// <summary>Reads one whole response (skipping 1xx interim ones); true when the connection stays open after it.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ReadResponseAsync()
    {
        if (_buffer.Length > KeepBufferBytes)
        {
            _buffer = new byte[InitialBufferBytes];
        }

        _filled = 0;
        _bodyStart = 0;
        _bodyLength = 0;
        while (true)
        {
            int headerEnd;
            while ((headerEnd = _buffer.AsSpan(0, _filled).IndexOf("\r\n\r\n"u8)) < 0)
            {
                if (_filled >= MaxHeaderBytes)
                {
                    throw Malformed("the response headers are larger than 64 KiB");
                }

                var where = _filled == 0 ? "before it answered" : "in the middle of the response headers";
                Received(await _socket.ReceiveAsync(FreeSpace(), SocketFlags.None), where);
            }

            var head = HttpResponseHead.Parse(_buffer.AsSpan(0, headerEnd));
            var bodyStart = headerEnd + 4;
            if (head.Status is >= 100 and < 200 && head.Status != 101)
            {
                // An interim response (100 Continue, 103 Early Hints): skip it, the real one follows.
                _buffer.AsSpan(bodyStart, _filled - bodyStart).CopyTo(_buffer);
                _filled -= bodyStart;
                continue;
            }

            Status = head.Status;
            _bodyStart = bodyStart;
            if (head.Status is 101 or 204 or 304)
            {
                // No body by definition (a 101 switches protocols: this client cannot follow, so it closes).
                return _filled == bodyStart && head.KeepAlive && head.Status != 101;
            }

            if (head.Chunked)
            {
                await ReadChunkedBodyAsync();
                return head.KeepAlive;
            }

            if (head.ContentLength is { } length)
            {
                if (length > MaxBodyBytes)
                {
                    throw Malformed($"the response body of {length} bytes is larger than 64 MiB");
                }

                var end = bodyStart + (int)length;
                EnsureCapacity(end);
                while (_filled < end)
                {
                    Received(await _socket.ReceiveAsync(FreeSpace(), SocketFlags.None), "in the middle of the response body");
                }

                _bodyLength = (int)length;
                // Bytes beyond the body were not asked for (no pipelining): the stream is out of step, do not reuse.
                return _filled == end && head.KeepAlive;
            }

            // Neither a length nor chunked: the body runs until the server closes the connection.
            int received;
            while ((received = await _socket.ReceiveAsync(FreeSpace(), SocketFlags.None)) > 0)
            {
                _filled += received;
                if (_filled - bodyStart > MaxBodyBytes)
                {
                    throw Malformed("the response body is larger than 64 MiB");
                }
            }

            _bodyLength = _filled - bodyStart;
            return false;
        }
    }

    /// <summary>Decodes a chunked body in place: the chunks' data ends up contiguous from <see cref="_bodyStart"/>.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask ReadChunkedBodyAsync()
    {
        _read = _bodyStart;
        _written = _bodyStart;
        while (true)
        {
            // The chunk-size line: 1*HEXDIG [ chunk-ext ] CRLF.
            int lineEnd;
            while ((lineEnd = _buffer.AsSpan(_read, _filled - _read).IndexOf("\r\n"u8)) < 0)
            {
                if (_filled - _read > 1024)
                {
                    throw Malformed("a chunk-size line is longer than 1 KiB");
                }

                Received(await _socket.ReceiveAsync(ChunkSpace(_filled - _read + 1), SocketFlags.None), ChunkedEnded);
            }

            var size = ChunkSize(_buffer.AsSpan(_read, lineEnd));
            _read += lineEnd + 2;
            if (size == 0)
            {
                break;
            }

            if (_written - _bodyStart + size > MaxBodyBytes)
            {
                throw Malformed("the chunked response body is larger than 64 MiB");
            }

            var chunk = (int)size;
            while (_filled - _read < chunk + 2)
            {
                Received(await _socket.ReceiveAsync(ChunkSpace(chunk + 2), SocketFlags.None), ChunkedEnded);
            }

            if (!_buffer.AsSpan(_read + chunk, 2).SequenceEqual("\r\n"u8))
            {
                throw Malformed("a chunk's data is not followed by CRLF");
            }

            _buffer.AsSpan(_read, chunk).CopyTo(_buffer.AsSpan(_written));
            _written += chunk;
            _read += chunk + 2;
        }

        // Trailer fields, each a line, up to an empty line.
        while (true)
        {
            int lineEnd;
            while ((lineEnd = _buffer.AsSpan(_read, _filled - _read).IndexOf("\r\n"u8)) < 0)
            {
                if (_filled - _read > MaxHeaderBytes)
                {
                    throw Malformed("the chunked trailer is larger than 64 KiB");
                }

                Received(await _socket.ReceiveAsync(ChunkSpace(_filled - _read + 1), SocketFlags.None), ChunkedEnded);
            }

            _read += lineEnd + 2;
            if (lineEnd == 0)
            {
                break;
            }
        }

        _bodyLength = _written - _bodyStart;
        if (_read != _filled)
        {
            throw Malformed("the server sent more than the chunked response");
        }
    }

    /// <summary>
    /// Room to receive more of a chunked body, so that at least <paramref name="need"/> unparsed bytes may follow
    /// <see cref="_read"/>: first closes the gap of consumed framing between the decoded body and the unparsed bytes,
    /// then grows the buffer if that is not room enough.
    /// </summary>
    private Memory<byte> ChunkSpace(int need)
    {
        if (_read > _written)
        {
            _buffer.AsSpan(_read, _filled - _read).CopyTo(_buffer.AsSpan(_written));
            _filled -= _read - _written;
            _read = _written;
        }

        EnsureCapacity(_read + need);
        return FreeSpace();
    }

    /// <summary>The free end of the receive buffer, grown first when it is full.</summary>
    private Memory<byte> FreeSpace()
    {
        if (_filled == _buffer.Length)
        {
            EnsureCapacity(_buffer.Length * 2);
        }

        return _buffer.AsMemory(_filled);
    }

    /// <summary>Counts <paramref name="bytes"/> received; none means the server closed the connection, an error here.</summary>
    private void Received(int bytes, string where)
    {
        if (bytes == 0)
        {
            throw new HttpRequestException(HttpRequestError.ResponseEnded, $"The server closed the connection {where}.");
        }

        _filled += bytes;
    }

    private void EnsureCapacity(int bytes)
    {
        if (bytes > _buffer.Length)
        {
            var grown = new byte[(int)Math.Min(Array.MaxLength, BitOperations.RoundUpToPowerOf2((uint)bytes))];
            _buffer.AsSpan(0, _filled).CopyTo(grown);
            _buffer = grown;
        }
    }

    private static long ChunkSize(ReadOnlySpan<byte> line)
    {
        var extension = line.IndexOf((byte)';');
        var digits = (extension < 0 ? line : line[..extension]).TrimEnd(" \t"u8);
        if (digits.Length is 0 or > 8 || !Utf8Parser.TryParse(digits, out uint size, out var used, 'x') || used != digits.Length)
        {
            throw Malformed($"'{Encoding.ASCII.GetString(line)}' is not a chunk size");
        }

        return size;
    }

    internal static HttpRequestException Malformed(string what) =>
        new(HttpRequestError.InvalidResponse, $"The server's response is malformed: {what}.");
}
