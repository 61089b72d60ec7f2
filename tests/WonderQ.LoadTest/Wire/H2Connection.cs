using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;

namespace WonderQ.LoadTest.Wire;

/// <summary>
/// One HTTP/2 connection without TLS (h2c, prior knowledge) carrying many requests at once, for the broker's h2c port
/// (docs/configuration.md, "HTTP/2 clients"). Just enough HTTP/2 for the load test, and lean for the same reason as
/// <see cref="WireConnection"/>: frames that concurrent requests queue while a write is under way go out together in
/// the next one. Not here: server push (refused in SETTINGS), a dynamic HPACK table (its size is set to 0, so a
/// response's headers are all literal or static), priorities, request bodies larger than the server's initial stream
/// window (the broker's is 768 KiB against its 2 MiB request limit; the tool sends at most 256 KiB).
/// </summary>
internal sealed class H2Connection : IDisposable
{
    private const int FrameHeaderBytes = 9;
    private const int DefaultWindow = 65_535;
    private const int ReceiveBufferBytes = 256 * 1024;

    /// <summary>The largest frame the server may send: SETTINGS_MAX_FRAME_SIZE left at its default.</summary>
    private const int MaxFrameWeAccept = 16_384;

    private const byte Data = 0x0, Headers = 0x1, RstStream = 0x3, Settings = 0x4, Ping = 0x6, GoAway = 0x7,
        WindowUpdate = 0x8, Continuation = 0x9;

    private const byte EndStream = 0x1, Ack = 0x1, EndHeaders = 0x4, Padded = 0x8, Priority = 0x20;

    private static readonly byte[] _preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    private readonly Socket _socket;
    private readonly SemaphoreSlim _slots;
    private readonly int _maxStreams;
    private readonly Lock _lock = new();
    private readonly Dictionary<int, H2Stream> _streams = [];
    private readonly Queue<H2Stream> _waitingForWindow = new();
    private readonly TaskCompletionSource _settingsReceived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ArrayBufferWriter<byte> _queued = new(64 * 1024);
    private ArrayBufferWriter<byte> _writing = new(64 * 1024);
    private bool _flushing;
    private int _nextStreamId = 1;
    private long _sendWindow = DefaultWindow;
    private int _peerStreamWindow = DefaultWindow;
    private int _peerMaxFrame = 16_384;
    private long _unacknowledged;
    private Exception? _failure;
    private int _continuedStreamId;
    private H2Stream? _continuing;

    private H2Connection(Socket socket, int maxStreams)
    {
        _socket = socket;
        _maxStreams = maxStreams;
        _slots = new SemaphoreSlim(maxStreams, maxStreams);
    }

    /// <summary>Requests in flight on this connection now.</summary>
    public int InFlight => _maxStreams - _slots.CurrentCount;

    public bool IsUsable => Volatile.Read(ref _failure) is null;

    /// <summary>
    /// Starts HTTP/2 on a connected socket: the preface, SETTINGS (no push, no dynamic table, the largest receive
    /// window, so only the connection's own window ever needs topping up) and that top-up; returns once the server's
    /// SETTINGS are in, so that requests are sized to its limits rather than the protocol's defaults.
    /// </summary>
    public static async Task<H2Connection> OpenAsync(Socket socket, int maxStreams, CancellationToken ct)
    {
        var connection = new H2Connection(socket, maxStreams);
        lock (connection._lock)
        {
            var output = connection._queued;
            output.Write(_preface);
            Span<byte> settings = stackalloc byte[18];
            WriteSetting(settings, 0x1, 0);            // SETTINGS_HEADER_TABLE_SIZE
            WriteSetting(settings[6..], 0x2, 0);       // SETTINGS_ENABLE_PUSH
            WriteSetting(settings[12..], 0x4, int.MaxValue); // SETTINGS_INITIAL_WINDOW_SIZE
            WriteFrame(output, Settings, 0, 0, settings);
            connection.WriteWindowUpdate(int.MaxValue - DefaultWindow);
        }

        connection.FlushQueued();
        _ = connection.ReadAsync();
        try
        {
            await connection._settingsReceived.Task.WaitAsync(ct);
        }
        catch
        {
            connection.Dispose();
            throw;
        }

        return connection;
    }

    /// <summary>Waits for one of this connection's <c>maxStreams</c> slots; <see cref="Start"/> uses it.</summary>
    public Task ReserveAsync(CancellationToken ct) => _slots.WaitAsync(ct);

    /// <summary>Gives back a reserved slot that <see cref="Start"/> was not called for or threw on.</summary>
    public void Unreserve() => _slots.Release();

    /// <summary>
    /// Sends a request on a reserved slot: its header block (see <see cref="H2Headers"/>) and body are copied before
    /// this returns. Await the answer with <see cref="H2Stream.WaitAsync"/>; its slot comes back when it ends.
    /// </summary>
    public H2Stream Start(ReadOnlySpan<byte> headerBlock, ReadOnlySpan<byte> body)
    {
        H2Stream stream;
        lock (_lock)
        {
            if (_failure is { } failure)
            {
                throw new HttpRequestException(HttpRequestError.ConnectionError, failure.Message, failure);
            }

            if (headerBlock.Length > _peerMaxFrame || body.Length > _peerStreamWindow)
            {
                throw new NotSupportedException($"A request of {body.Length} bytes is past what this client sends on one HTTP/2 stream.");
            }

            stream = new H2Stream(this, _nextStreamId);
            _nextStreamId += 2;
            _streams.Add(stream.Id, stream);
            WriteFrame(_queued, Headers, (byte)(EndHeaders | (body.IsEmpty ? EndStream : 0)), stream.Id, headerBlock);
            if (!body.IsEmpty)
            {
                if (_waitingForWindow.Count == 0 && body.Length <= _sendWindow)
                {
                    WriteData(stream.Id, body);
                }
                else
                {
                    stream.UnsentBody = body.ToArray();
                    _waitingForWindow.Enqueue(stream);
                }
            }
        }

        FlushQueued();
        return stream;
    }

    /// <summary>Resets a stream whose caller gave up (RST_STREAM CANCEL); its slot comes back.</summary>
    internal void Cancel(H2Stream stream)
    {
        bool drained;
        lock (_lock)
        {
            if (!_streams.Remove(stream.Id))
            {
                return;
            }

            Span<byte> code = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(code, 0x8);
            WriteFrame(_queued, RstStream, 0, stream.Id, code);
            drained = Drained;
        }

        Released(drained);
        stream.Fail(new OperationCanceledException());
        FlushQueued();
    }

    public void Dispose() => Fail(new ObjectDisposedException(nameof(H2Connection)));

    private static void WriteSetting(Span<byte> to, ushort id, int value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(to, id);
        BinaryPrimitives.WriteInt32BigEndian(to[2..], value);
    }

    private static void WriteFrame(ArrayBufferWriter<byte> output, byte type, byte flags, int streamId, ReadOnlySpan<byte> payload)
    {
        var frame = output.GetSpan(FrameHeaderBytes + payload.Length);
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        frame[3] = type;
        frame[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(frame[5..], streamId);
        payload.CopyTo(frame[FrameHeaderBytes..]);
        output.Advance(FrameHeaderBytes + payload.Length);
    }

    /// <summary>Under the lock: the body as DATA frames of at most the server's frame size, the last ending the stream.</summary>
    private void WriteData(int streamId, ReadOnlySpan<byte> body)
    {
        _sendWindow -= body.Length;
        while (body.Length > _peerMaxFrame)
        {
            WriteFrame(_queued, Data, 0, streamId, body[.._peerMaxFrame]);
            body = body[_peerMaxFrame..];
        }

        WriteFrame(_queued, Data, EndStream, streamId, body);
    }

    private void WriteWindowUpdate(int increment)
    {
        Span<byte> payload = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(payload, increment);
        WriteFrame(_queued, WindowUpdate, 0, 0, payload);
    }

    /// <summary>Writes what is queued until nothing is: one writer at a time, the others only queue.</summary>
    private async Task FlushAsync()
    {
        try
        {
            while (true)
            {
                ArrayBufferWriter<byte> batch;
                lock (_lock)
                {
                    if (_queued.WrittenCount == 0 || _failure is not null)
                    {
                        _flushing = false;
                        return;
                    }

                    batch = _queued;
                    _queued = _writing;
                    _writing = batch;
                }

                await _socket.SendAsync(batch.WrittenMemory, SocketFlags.None);
                batch.ResetWrittenCount();
            }
        }
        catch (Exception ex)
        {
            Fail(ex);
        }
    }

    private async Task ReadAsync()
    {
        var buffer = new byte[ReceiveBufferBytes];
        int start = 0, end = 0;
        try
        {
            while (true)
            {
                if (buffer.Length - end < FrameHeaderBytes + MaxFrameWeAccept)
                {
                    Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
                    end -= start;
                    start = 0;
                }

                var read = await _socket.ReceiveAsync(buffer.AsMemory(end), SocketFlags.None);
                if (read == 0)
                {
                    throw new HttpRequestException(HttpRequestError.ResponseEnded, "The server closed the HTTP/2 connection.");
                }

                end += read;
                while (end - start >= FrameHeaderBytes)
                {
                    var header = buffer.AsSpan(start, FrameHeaderBytes);
                    var length = (header[0] << 16) | (header[1] << 8) | header[2];
                    if (length > MaxFrameWeAccept)
                    {
                        throw WireConnection.Malformed($"an HTTP/2 frame of {length} bytes, past the 16 KiB this client allows");
                    }

                    if (end - start < FrameHeaderBytes + length)
                    {
                        break;
                    }

                    var streamId = BinaryPrimitives.ReadInt32BigEndian(header[5..]) & int.MaxValue;
                    OnFrame(header[3], header[4], streamId, buffer.AsSpan(start + FrameHeaderBytes, length));
                    start += FrameHeaderBytes + length;
                }

                if (start == end)
                {
                    start = end = 0;
                }
            }
        }
        catch (Exception ex)
        {
            Fail(ex);
        }
    }

    private void OnFrame(byte type, byte flags, int streamId, ReadOnlySpan<byte> payload)
    {
        switch (type)
        {
            case Data:
                OnData(flags, streamId, payload);
                break;
            case Headers:
                OnHeaders(flags, streamId, Unpad(flags, payload, (flags & Priority) != 0 ? 5 : 0));
                break;
            case Continuation:
                if (streamId == 0 || streamId != _continuedStreamId)
                {
                    throw WireConnection.Malformed("a CONTINUATION frame that continues nothing");
                }

                // A stream given up on meanwhile (null) still has its header block end here.
                _continuing?.HeaderBlock.Write(payload);
                if ((flags & EndHeaders) != 0)
                {
                    var ended = _continuing;
                    (_continuedStreamId, _continuing) = (0, null);
                    if (ended is not null)
                    {
                        OnHeaderBlockEnd(ended, ended.HeaderEndsStream);
                    }
                }

                break;
            case RstStream:
                if (Remove(streamId) is { } reset)
                {
                    reset.Fail(new HttpRequestException(
                        HttpRequestError.HttpProtocolError, $"The server reset the stream (HTTP/2 error {BinaryPrimitives.ReadUInt32BigEndian(payload)})."));
                }

                break;
            case Settings when (flags & Ack) == 0:
                OnSettings(payload);
                break;
            case Ping when (flags & Ack) == 0:
                Queue(Ping, Ack, 0, payload);
                break;
            case GoAway:
                var lastStream = BinaryPrimitives.ReadInt32BigEndian(payload) & int.MaxValue;
                var error = new HttpRequestException(
                    HttpRequestError.ConnectionError, $"The server closed the connection (GOAWAY, HTTP/2 error {BinaryPrimitives.ReadUInt32BigEndian(payload[4..])}).");
                Fail(error, afterStream: lastStream);
                break;
            case WindowUpdate:
                if (streamId == 0)
                {
                    OnConnectionWindow(BinaryPrimitives.ReadInt32BigEndian(payload) & int.MaxValue);
                }

                break;
        }
    }

    private void OnData(byte flags, int streamId, ReadOnlySpan<byte> payload)
    {
        // Flow control counts the whole frame, padding included; topped up a gigabyte at a time.
        _unacknowledged += payload.Length;
        if (_unacknowledged >= 1 << 30)
        {
            lock (_lock)
            {
                WriteWindowUpdate((int)_unacknowledged);
            }

            _unacknowledged = 0;
            FlushQueued();
        }

        if (Find(streamId) is { } stream)
        {
            stream.Body.Write(Unpad(flags, payload, 0));
            if ((flags & EndStream) != 0)
            {
                Complete(stream);
            }
        }
    }

    private void OnHeaders(byte flags, int streamId, ReadOnlySpan<byte> block)
    {
        var stream = Find(streamId);
        if ((flags & EndHeaders) == 0)
        {
            (_continuedStreamId, _continuing) = (streamId, stream);
            stream?.HeaderBlock.Write(block);
            stream?.HeaderEndsStream = (flags & EndStream) != 0;
            return;
        }

        if (stream is not null)
        {
            stream.HeaderBlock.Write(block);
            OnHeaderBlockEnd(stream, (flags & EndStream) != 0);
        }
    }

    private void OnHeaderBlockEnd(H2Stream stream, bool endsStream)
    {
        // The first final block is the response's; a later one would be trailers, which the broker does not send. An
        // interim answer (100 Continue, 103 Early Hints) may come before it, and is passed over.
        if (stream.Status == 0 && H2Headers.ReadStatus(stream.HeaderBlock.WrittenSpan) is var status and not (>= 100 and < 200))
        {
            stream.Status = status;
        }

        stream.HeaderBlock.ResetWrittenCount();
        if (endsStream)
        {
            Complete(stream);
        }
    }

    private void OnSettings(ReadOnlySpan<byte> payload)
    {
        for (var i = 0; i + 6 <= payload.Length; i += 6)
        {
            // Unsigned: a server that sets no limit on its streams says 2^32 - 1. The window and the frame size are
            // below 2^31 in any server that keeps the protocol.
            var value = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(payload[(i + 2)..]), int.MaxValue);
            switch (BinaryPrimitives.ReadUInt16BigEndian(payload[i..]))
            {
                case 0x3 when value < _maxStreams:
                    throw WireConnection.Malformed($"a server that takes {value} requests at once on an HTTP/2 connection; this client sends up to {_maxStreams}");
                case 0x4:
                    lock (_lock)
                    {
                        _peerStreamWindow = value;
                    }

                    break;
                case 0x5:
                    lock (_lock)
                    {
                        _peerMaxFrame = value;
                    }

                    break;
            }
        }

        Queue(Settings, Ack, 0, default);
        _settingsReceived.TrySetResult();
    }

    private void OnConnectionWindow(int increment)
    {
        lock (_lock)
        {
            _sendWindow += increment;
            while (_waitingForWindow.TryPeek(out var stream) && stream.UnsentBody!.Length <= _sendWindow)
            {
                _waitingForWindow.Dequeue();
                if (_streams.ContainsKey(stream.Id))
                {
                    WriteData(stream.Id, stream.UnsentBody);
                }

                stream.UnsentBody = null;
            }
        }

        FlushQueued();
    }

    /// <summary>Queues a frame and makes sure it is written.</summary>
    private void Queue(byte type, byte flags, int streamId, ReadOnlySpan<byte> payload)
    {
        lock (_lock)
        {
            WriteFrame(_queued, type, flags, streamId, payload);
        }

        FlushQueued();
    }

    /// <summary>Starts a write of what is queued unless one is under way (which writes it when it is done).</summary>
    private void FlushQueued()
    {
        bool flush;
        lock (_lock)
        {
            flush = !_flushing && _queued.WrittenCount > 0;
            _flushing |= flush;
        }

        if (flush)
        {
            _ = FlushAsync();
        }
    }

    private static ReadOnlySpan<byte> Unpad(byte flags, ReadOnlySpan<byte> payload, int skip)
    {
        if ((flags & Padded) == 0)
        {
            return payload[skip..];
        }

        var padding = payload[0];
        return padding + skip + 1 > payload.Length
            ? throw WireConnection.Malformed("an HTTP/2 frame padded past its end")
            : payload[(1 + skip)..^padding];
    }

    private H2Stream? Find(int streamId)
    {
        lock (_lock)
        {
            return _streams.GetValueOrDefault(streamId);
        }
    }

    private H2Stream? Remove(int streamId)
    {
        H2Stream? stream;
        bool drained;
        lock (_lock)
        {
            if (!_streams.Remove(streamId, out stream))
            {
                return null;
            }

            drained = Drained;
        }

        Released(drained);
        return stream;
    }

    /// <summary>Under the lock: after a failure or a GOAWAY, the streams the server still owed answers to have all ended.</summary>
    private bool Drained => _failure is not null && _streams.Count == 0;

    /// <summary>A stream's slot back; and once the connection is drained, nothing more can come on it: the socket closes.</summary>
    private void Released(bool drained)
    {
        _slots.Release();
        if (drained)
        {
            _socket.Dispose();
        }
    }

    private void Complete(H2Stream stream)
    {
        if (Remove(stream.Id) is not null)
        {
            stream.Succeed();
        }
    }

    /// <summary>Fails the streams above <paramref name="afterStream"/> (all by default); no new stream starts after.</summary>
    private void Fail(Exception error, int afterStream = -1)
    {
        List<H2Stream> failed;
        bool drained;
        _settingsReceived.TrySetException(error);
        lock (_lock)
        {
            _failure ??= error;
            failed = [.. _streams.Values.Where(s => s.Id > afterStream)];
            foreach (var stream in failed)
            {
                _streams.Remove(stream.Id);
            }

            drained = Drained;
        }

        foreach (var stream in failed)
        {
            _slots.Release();
            stream.Fail(error);
        }

        if (afterStream < 0 || drained)
        {
            _socket.Dispose();
        }
    }
}

/// <summary>One request on an <see cref="H2Connection"/> and, once it has ended, its answer.</summary>
internal sealed class H2Stream(H2Connection connection, int id)
{
    // The caller goes on on the connection's reading thread, which then reads on only after its next await: handing
    // each answer to the thread pool instead cost the tool 27-41 us of CPU a produced message against 20-25 (four
    // A/B pairs, 512 producers on 64 connections), and got 1-35% fewer sends through.
    private readonly TaskCompletionSource _ended = new();

    public int Id { get; } = id;

    /// <summary>The response's status; 0 until its headers arrive.</summary>
    public int Status { get; internal set; }

    /// <summary>The response's body, whole once <see cref="WaitAsync"/> has returned.</summary>
    public ArrayBufferWriter<byte> Body { get; } = new(256);

    internal ArrayBufferWriter<byte> HeaderBlock { get; } = new(128);

    internal bool HeaderEndsStream { get; set; }

    internal byte[]? UnsentBody { get; set; }

    /// <summary>Waits for the whole response; cancelling resets the stream.</summary>
    public async Task WaitAsync(CancellationToken ct)
    {
        await using (ct.Register(static s => ((H2Stream)s!).CancelOnConnection(), this))
        {
            await _ended.Task;
        }
    }

    internal void Succeed() => _ended.TrySetResult();

    internal void Fail(Exception error) => _ended.TrySetException(error);

    private void CancelOnConnection() => connection.Cancel(this);
}
