using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using WonderQ.LoadTest;

namespace WonderQ.Broker.Tests.LoadTool;

/// <summary>
/// The load tool's HTTP/2 client against a server that keeps the protocol in ways Kestrel does not show it: an
/// interim answer before the response, and SETTINGS values past a signed 32-bit number. A scripted peer on a real
/// socket answers one send.
/// </summary>
public sealed class H2PeerTests
{
    [Fact]
    public async Task A_send_answered_103_then_201_reads_as_the_201_it_is()
    {
        await using var peer = ScriptedPeer.Start(interimFirst: true, maxStreams: 100);
        using var client = new BrokerClient(peer.Url, 1, http2Connections: 1);
        var recorder = new Recorder("send");

        var id = await client.SendAsync(7, "early hints first", recorder, CancellationToken.None);

        id.Should().Be(42);
        client.Errors.Snapshot().Should().BeEmpty();
    }

    [Fact]
    public async Task A_server_that_sets_no_limit_on_its_streams_is_taken_at_its_word()
    {
        // 2^32 - 1, as Node says "unlimited": read as a signed number it was -1, and every request refused.
        await using var peer = ScriptedPeer.Start(interimFirst: false, maxStreams: uint.MaxValue);
        using var client = new BrokerClient(peer.Url, 1, http2Connections: 1);
        var recorder = new Recorder("send");

        var id = await client.SendAsync(7, "no stream limit", recorder, CancellationToken.None);

        id.Should().Be(42);
        client.Errors.Snapshot().Should().BeEmpty();
    }

    /// <summary>Answers the first request on the first connection with a 201 of id 42, after a 103 if asked.</summary>
    private sealed class ScriptedPeer : IAsyncDisposable
    {
        private const byte Data = 0x0, Headers = 0x1, Settings = 0x4, EndStream = 0x1, EndHeaders = 0x4;

        private readonly TcpListener _listener;
        private readonly Task _serving;

        private ScriptedPeer(TcpListener listener, Task serving)
        {
            _listener = listener;
            _serving = serving;
        }

        public Uri Url => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");

        public static ScriptedPeer Start(bool interimFirst, uint maxStreams)
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return new ScriptedPeer(listener, ServeAsync(listener, interimFirst, maxStreams));
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            await _serving.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        private static async Task ServeAsync(TcpListener listener, bool interimFirst, uint maxStreams)
        {
            using var socket = await listener.AcceptSocketAsync();
            await using var stream = new NetworkStream(socket);
            await stream.ReadExactlyAsync(new byte[24]); // the client's preface

            var settings = new byte[6];
            BinaryPrimitives.WriteUInt16BigEndian(settings, 0x3); // SETTINGS_MAX_CONCURRENT_STREAMS
            BinaryPrimitives.WriteUInt32BigEndian(settings.AsSpan(2), maxStreams);
            await WriteFrameAsync(stream, Settings, 0, 0, settings);

            // Frames until the request's end: its HEADERS, then its DATA (the send's body) ending the stream.
            int requestStream;
            while (true)
            {
                var (type, flags, streamId) = await ReadFrameAsync(stream);
                if ((type == Headers || type == Data) && (flags & EndStream) != 0)
                {
                    requestStream = streamId;
                    break;
                }
            }

            // :status as a literal without indexing on the static table's name 8 (":status").
            if (interimFirst)
            {
                await WriteFrameAsync(stream, Headers, EndHeaders, requestStream, [0x08, 0x03, .. "103"u8]);
            }

            await WriteFrameAsync(stream, Headers, EndHeaders, requestStream, [0x08, 0x03, .. "201"u8]);
            await WriteFrameAsync(stream, Data, EndStream, requestStream, Encoding.UTF8.GetBytes("{\"id\":42}"));

            // Held open until the client is done with it.
            while (true)
            {
                await ReadFrameAsync(stream);
            }
        }

        private static async Task<(byte Type, byte Flags, int StreamId)> ReadFrameAsync(Stream stream)
        {
            var head = new byte[9];
            await stream.ReadExactlyAsync(head);
            var length = (head[0] << 16) | (head[1] << 8) | head[2];
            await stream.ReadExactlyAsync(new byte[length]);
            return (head[3], head[4], BinaryPrimitives.ReadInt32BigEndian(head.AsSpan(5)) & int.MaxValue);
        }

        private static async Task WriteFrameAsync(Stream stream, byte type, byte flags, int streamId, byte[] payload)
        {
            var frame = new byte[9 + payload.Length];
            frame[0] = (byte)(payload.Length >> 16);
            frame[1] = (byte)(payload.Length >> 8);
            frame[2] = (byte)payload.Length;
            frame[3] = type;
            frame[4] = flags;
            BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(5), streamId);
            payload.CopyTo(frame, 9);
            await stream.WriteAsync(frame);
        }
    }
}
