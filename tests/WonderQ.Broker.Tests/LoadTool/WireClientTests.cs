using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using WonderQ.LoadTest;
using WonderQ.LoadTest.Wire;

namespace WonderQ.Broker.Tests.LoadTool;

/// <summary>
/// The load tool's own HTTP/1.1 client (tests/WonderQ.LoadTest/Wire) against real servers: a small Kestrel app that
/// answers with a Content-Length, chunked, with Connection: close, cut off or held; a raw socket for answers Kestrel
/// would never send; and the broker itself through the tool's <see cref="BrokerClient"/>.
/// </summary>
public sealed class WireClientTests : IAsyncLifetime
{
    private WireTestServer _server = null!;

    public async Task InitializeAsync() => _server = await WireTestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_content_length_body_is_read_and_the_connection_carries_the_next_request()
    {
        using var pool = new WirePool(_server.Url, 4);

        var first = await GetAsync(pool, "length");
        var second = await GetAsync(pool, "length");

        first.Status.Should().Be(200);
        first.Body.Should().StartWith("length on ");
        second.Body.Should().Be(first.Body, "the second request went out on the same connection");
        pool.Opened.Should().Be(1);
        pool.Idle.Should().Be(1);
    }

    [Fact]
    public async Task A_chunked_body_flushed_in_two_pieces_is_decoded_and_the_connection_kept()
    {
        using var pool = new WirePool(_server.Url, 4);

        var chunked = await GetAsync(pool, "chunked");
        var after = await GetAsync(pool, "length");

        chunked.Status.Should().Be(200);
        var connection = after.Body["length on ".Length..];
        chunked.Body.Should().Be($"chunked on {connection}");
        pool.Opened.Should().Be(1);
    }

    [Fact]
    public async Task A_response_with_connection_close_is_read_and_its_connection_never_reused()
    {
        using var pool = new WirePool(_server.Url, 4);

        var closing = await GetAsync(pool, "close");
        var next = await GetAsync(pool, "length");

        closing.Status.Should().Be(200);
        closing.Body.Should().StartWith("close on ");
        next.Status.Should().Be(200);
        next.Body["length on ".Length..].Should().NotBe(closing.Body["close on ".Length..]);
        pool.Opened.Should().Be(2, "the closed connection was dropped and a new one opened");
        pool.Idle.Should().Be(1);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_body_larger_than_the_buffer_grows_it_then_it_shrinks_back(bool chunked)
    {
        const int size = 300 * 1024;
        using var pool = new WirePool(_server.Url, 1);
        var connection = await pool.RentAsync(CancellationToken.None);
        try
        {
            WriteGet(pool, connection, $"big?n={size}&chunked={(chunked ? "true" : "false")}");
            await connection.ExchangeAsync(CancellationToken.None);
            connection.Status.Should().Be(200);
            connection.Body.SequenceEqual(WireTestServer.Pattern(size)).Should().BeTrue();
            connection.BufferBytes.Should().BeGreaterThanOrEqualTo(size);

            connection.Reset();
            WriteGet(pool, connection, "length");
            await connection.ExchangeAsync(CancellationToken.None);
            Encoding.UTF8.GetString(connection.Body).Should().StartWith("length on ");
            connection.BufferBytes.Should().Be(WireConnection.InitialBufferBytes);
            connection.IsReusable.Should().BeTrue();
        }
        finally
        {
            pool.Return(connection);
        }
    }

    [Fact]
    public async Task A_response_cut_off_mid_body_is_an_error_and_the_connection_is_discarded()
    {
        using var pool = new WirePool(_server.Url, 1);

        var act = () => GetAsync(pool, "cut");

        // Kestrel aborts with a reset, so this is a socket error rather than a clean end of stream; either way it fails.
        await act.Should().ThrowAsync<HttpRequestException>();
        pool.Idle.Should().Be(0);
        var next = await GetAsync(pool, "length");
        next.Status.Should().Be(200);
        pool.Opened.Should().Be(2);
    }

    [Fact]
    public async Task A_post_goes_out_whole_with_its_content_type_and_length()
    {
        using var pool = new WirePool(_server.Url, 1);
        var connection = await pool.RentAsync(CancellationToken.None);
        try
        {
            var body = "{\"body\":\"h\\u00e9\"}"u8.ToArray();
            connection.Request.Append("POST "u8).Append(pool.BasePath).Append("echo HTTP/1.1\r\nHost: "u8).Append(pool.HostHeader)
                .Append("\r\nContent-Type: application/json\r\nContent-Length: "u8).Append(body.Length).Append("\r\n\r\n"u8).Append(body);

            await connection.ExchangeAsync(CancellationToken.None);

            connection.Status.Should().Be(201);
            Encoding.UTF8.GetString(connection.Body).Should().Be($"POST application/json {body.Length} {{\"body\":\"h\\u00e9\"}}");
        }
        finally
        {
            pool.Return(connection);
        }
    }

    [Fact]
    public async Task Cancelling_a_held_request_closes_its_connection_at_once()
    {
        using var pool = new WirePool(_server.Url, 1);
        using var cts = new CancellationTokenSource();
        var held = GetAsync(pool, "hold", cts.Token);
        await Eventually.TrueAsync(() => _server.PeakInFlight == 1, "the server holds the request");
        var timer = Stopwatch.StartNew();

        await cts.CancelAsync();

        await held.Invoking(t => t).Should().ThrowAsync<OperationCanceledException>();
        timer.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(5));
        await _server.ClientLeft.Task.WaitAsync(TimeSpan.FromSeconds(10));
        pool.Idle.Should().Be(0, "a cancelled connection is closed, never pooled");
        (await GetAsync(pool, "length")).Status.Should().Be(200);
        pool.Opened.Should().Be(2);
    }

    [Fact]
    public async Task The_pool_opens_at_most_its_limit_and_a_caller_beyond_it_waits_for_a_connection()
    {
        using var pool = new WirePool(_server.Url, 2);

        var requests = Enumerable.Range(0, 3).Select(_ => GetAsync(pool, "hold")).ToList();
        await Eventually.TrueAsync(() => _server.PeakInFlight == 2, "two requests are held");
        await Task.Delay(200);
        _server.PeakInFlight.Should().Be(2, "the third caller waits for one of the two connections");
        requests.Should().OnlyContain(r => !r.IsCompleted);
        _server.Release.SetResult();
        var answers = await Task.WhenAll(requests);

        answers.Should().OnlyContain(a => a.Status == 200 && a.Body.StartsWith("held on ", StringComparison.Ordinal));
        answers.Select(a => a.Body).Distinct().Should().HaveCount(2);
        pool.Opened.Should().Be(2);
    }

    [Fact]
    public async Task A_connection_the_server_closed_while_idle_is_not_sent_on()
    {
        await using var server = await WireTestServer.StartAsync(keepAliveTimeout: TimeSpan.FromSeconds(1));
        using var pool = new WirePool(server.Url, 1);
        (await GetAsync(pool, "length")).Status.Should().Be(200);

        // Kestrel closes an idle keep-alive connection on its next heartbeat (once a second) after the timeout.
        await Eventually.TrueAsync(() => server.ConnectionsEnded == 1, "the server closes the idle connection");
        var next = await GetAsync(pool, "length");

        next.Status.Should().Be(200);
        pool.Opened.Should().Be(2);
    }

    [Fact]
    public async Task Malformed_or_early_ended_responses_are_errors_and_unasked_bytes_stop_reuse()
    {
        await using var raw = RawServer.Start(
            ("HTTP/1.1 200 OK\r\ncontent-LENGTH: 2\r\n\r\nokEXTRA", false),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 99\r\n\r\n"
                + "3;ext=1\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n", false),
            ("HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n", false),
            ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", true),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false),
            ("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", false),
            ("", true));
        using var pool = new WirePool(raw.Url, 1);

        var extra = await GetAsync(pool, "a");
        extra.Should().Be((200, "ok"));
        pool.Idle.Should().Be(0, "bytes after the body put the stream out of step");

        (await GetAsync(pool, "b")).Should().Be((200, "abc"), "chunked wins over Content-Length; extensions and trailers skipped");
        pool.Idle.Should().Be(1, "the connection that answered chunked stays usable");
        pool.Dispose();

        using var fresh = new WirePool(raw.Url, 1);
        (await Error(fresh, "c")).HttpRequestError.Should().Be(HttpRequestError.InvalidResponse);
        (await Error(fresh, "d")).HttpRequestError.Should().Be(HttpRequestError.ResponseEnded);
        (await Error(fresh, "e")).HttpRequestError.Should().Be(HttpRequestError.InvalidResponse);
        (await GetAsync(fresh, "f")).Should().Be((204, ""), "an interim 100 is skipped");
        (await Error(fresh, "g")).HttpRequestError.Should().Be(HttpRequestError.ResponseEnded);
        fresh.Opened.Should().Be(4, "every failed connection was replaced; the 204's carried the last request");
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nCONNECTION: Close", 200, null, false, false)]
    [InlineData("HTTP/1.1 404 Not Found\r\ncontent-length:  12 ", 404, 12L, false, true)]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\nContent-Length: 5", 200, null, true, true)]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip", 200, null, false, false)]
    [InlineData("HTTP/1.0 200 OK\r\nContent-Length: 1", 200, 1L, false, false)]
    [InlineData("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1", 200, 1L, false, true)]
    [InlineData("HTTP/1.1 503", 503, null, false, true)]
    public void The_head_parser_reads_status_framing_and_persistence(
        string head, int status, long? length, bool chunked, bool keepAlive) =>
        HttpResponseHead.Parse(Encoding.ASCII.GetBytes(head)).Should().Be(new HttpResponseHead(status, length, chunked, keepAlive));

    [Theory]
    [InlineData("HTTP/2 200 OK")]
    [InlineData("HTTP/1.1 20 OK")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: -1")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length : 1")]
    [InlineData("HTTP/1.1 200 OK\r\n folded")]
    public void The_head_parser_rejects_malformed_heads(string head) =>
        FluentActions.Invoking(() => HttpResponseHead.Parse(Encoding.ASCII.GetBytes(head)))
            .Should().Throw<HttpRequestException>().Which.HttpRequestError.Should().Be(HttpRequestError.InvalidResponse);

    [Fact]
    public void Https_is_refused_up_front()
    {
        FluentActions.Invoking(() => LoadOptions.Parse(["produce", "--url", "https://127.0.0.1:4500"]))
            .Should().Throw<ArgumentException>().WithMessage("*plain http*");
        FluentActions.Invoking(() => new WirePool(new Uri("https://127.0.0.1:4500/"), 1)).Should().Throw<ArgumentException>();
    }

    [Fact]
    public async Task The_load_tools_client_sends_consumes_and_deletes_on_a_real_broker()
    {
        await using var broker = await KestrelBroker.StartAsync();
        using var client = new BrokerClient(broker.Url, 8);
        var queue = await client.CreateQueueAsync(Wire.UniqueQueueName("wire"), CancellationToken.None);
        var body = "wq:tag:1:2: \"quoted\" back\\slash\nnew line \u00e9 \U0001F600 </script>";
        var send = new Recorder("send");
        var consume = new Recorder("consume");
        var delete = new Recorder("delete");

        var id = await client.SendAsync(queue.Id, body, send, CancellationToken.None);
        var messages = await client.ConsumeAsync(queue.Id, 10, 0, 60, consume, CancellationToken.None);
        var deleted = await client.DeleteAsync(messages![0], delete, CancellationToken.None);
        var empty = await client.ConsumeAsync(queue.Id, 10, 0, 60, consume, CancellationToken.None);
        var missing = await client.DeleteAsync(messages[0], delete, CancellationToken.None);

        id.Should().BePositive();
        messages.Should().ContainSingle().Which.Should().Match<Received>(m => m.Id == id && m.Body == body);
        deleted.Should().Be(200);
        empty.Should().BeEmpty();
        missing.Should().Be(404);
        client.Errors.Snapshot().Should().BeEmpty("a refused delete is handed back for the run to judge");
        (send.Count, consume.Count, delete.Count).Should().Be((1, 2, 1));
    }

    [Fact]
    public async Task A_consume_whose_connection_is_refused_as_the_run_ends_comes_back_empty_not_as_an_exception()
    {
        // A port nothing listens on. The run's end lands while each connect is being refused: a refusal read just after
        // the end threw out of the long poll and the run ended "could not run" (CI, 2026-12-05), not with its errors.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var client = new BrokerClient(new Uri($"http://127.0.0.1:{port}/"), 1);
        var recorder = new Recorder("consume");

        for (var attempt = 0; attempt < 200; attempt++)
        {
            using var end = new CancellationTokenSource();
            // A consumer of the run: it polls again as soon as a poll fails, until the run ends.
            var consumer = Task.Run(async () =>
            {
                while (!end.IsCancellationRequested)
                {
                    if (await client.ConsumeAsync(1, 1, 20, 60, recorder, end.Token) is not null)
                    {
                        throw new InvalidOperationException("Nothing listens there: no poll can have an answer.");
                    }
                }
            });
            await Task.Delay(1);
            await end.CancelAsync();

            await consumer.Invoking(c => c).Should().NotThrowAsync($"attempt {attempt}'s end was not a failure");
        }

        client.Errors.Snapshot().Keys.Should().OnlyContain(
            key => key.StartsWith("GET /messages/consume HttpRequestException: Connection refused", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public async Task A_broker_on_an_ipv6_address_is_sent_a_host_it_accepts_over_either_transport(int http2Connections)
    {
        // Arrange: the broker on the IPv6 loopback, as --url http://[::1]:port names it; its AllowedHosts has [::1].
        await using var broker = await KestrelBroker.StartAsync(
            "--urls", "http://[::1]:0", $"--Kestrel:EndpointDefaults:Protocols={(http2Connections > 0 ? "Http2" : "Http1")}");
        using var client = new BrokerClient(broker.Url, 8, http2Connections);
        var queue = await client.CreateQueueAsync(Wire.UniqueQueueName("ipv6"), CancellationToken.None);
        var recorder = new Recorder("any");

        // Act
        var id = await client.SendAsync(queue.Id, "over IPv6", recorder, CancellationToken.None);
        var messages = await client.ConsumeAsync(queue.Id, 10, 0, 60, recorder, CancellationToken.None);

        // Assert
        broker.Url.Host.Should().Be("[::1]");
        client.Errors.Snapshot().Should().BeEmpty("a Host (or :authority) of ::1:port, without its brackets, is refused by any server");
        id.Should().BePositive();
        messages.Should().ContainSingle().Which.Body.Should().Be("over IPv6");
    }

    private static void WriteGet(WirePool pool, WireConnection connection, string pathAndQuery) =>
        connection.Request.Append("GET "u8).Append(pool.BasePath).AppendAscii(pathAndQuery)
            .Append(" HTTP/1.1\r\nHost: "u8).Append(pool.HostHeader).Append("\r\n\r\n"u8);

    private static async Task<(int Status, string Body)> GetAsync(WirePool pool, string pathAndQuery, CancellationToken ct = default)
    {
        var connection = await pool.RentAsync(ct);
        try
        {
            WriteGet(pool, connection, pathAndQuery);
            await connection.ExchangeAsync(ct);
            return (connection.Status, Encoding.UTF8.GetString(connection.Body));
        }
        finally
        {
            pool.Return(connection);
        }
    }

    private static async Task<HttpRequestException> Error(WirePool pool, string path)
    {
        var act = () => GetAsync(pool, path);
        return (await act.Should().ThrowAsync<HttpRequestException>()).Which;
    }

    /// <summary>
    /// A TCP server that answers the n-th request it reads (on whichever connection) with the n-th canned response,
    /// byte for byte, and then closes that connection if the response says so (an empty one closes unanswered).
    /// </summary>
    private sealed class RawServer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly (string Text, bool Close)[] _responses;
        private readonly CancellationTokenSource _stop = new();
        private int _next;
        private Task _accepting = Task.CompletedTask;

        private RawServer((string Text, bool Close)[] responses) => _responses = responses;

        public Uri Url => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");

        public static RawServer Start(params (string Text, bool Close)[] responses)
        {
            var server = new RawServer(responses);
            server._listener.Start();
            server._accepting = server.AcceptAsync();
            return server;
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _accepting.ContinueWith(_ => { }, TaskScheduler.Default);
            _stop.Dispose();
        }

        private async Task AcceptAsync()
        {
            var connections = new List<Task>();
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    connections.Add(ServeAsync(client));
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // Stopped.
            }

            await Task.WhenAll(connections).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        private async Task ServeAsync(TcpClient client)
        {
            using (client)
            {
                var stream = client.GetStream();
                var buffer = new byte[4096];
                var pending = new StringBuilder();
                while (!_stop.IsCancellationRequested)
                {
                    var read = await stream.ReadAsync(buffer, _stop.Token);
                    if (read == 0)
                    {
                        return;
                    }

                    pending.Append(Encoding.ASCII.GetString(buffer, 0, read));
                    if (!pending.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                    {
                        continue;
                    }

                    pending.Clear();
                    var (text, close) = _responses[Interlocked.Increment(ref _next) - 1];
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(text), _stop.Token);
                    await stream.FlushAsync(_stop.Token);
                    if (close)
                    {
                        return;
                    }
                }
            }
        }
    }
}
