using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using WonderQ.Broker.Messages;
using WonderQ.Reliability.Tests.Support;
using WonderQ.Shared.Contracts;
using WonderQ.Shared.Json;

namespace WonderQ.Reliability.Tests.Http2;

/// <summary>
/// The recipe for HTTP/2 clients (docs/configuration.md): Kestrel serves one protocol on a cleartext port, so HTTP/1.1 keeps its
/// port and h2c (prior knowledge) gets one of its own.
/// </summary>
public sealed class H2cBroker : KestrelBroker
{
    public H2cBroker()
        : this(FreePort.Next(), [])
    {
    }

    private H2cBroker(int h2cPort, string[] args)
        : base(
        [
            "--Urls=",
            "--Kestrel:Endpoints:Http:Url=http://127.0.0.1:0",
            $"--Kestrel:Endpoints:H2c:Url=http://127.0.0.1:{h2cPort}",
            "--Kestrel:Endpoints:H2c:Protocols=Http2",
            .. args,
        ]) => H2cAddress = new Uri($"http://127.0.0.1:{h2cPort}");

    /// <summary>One started in a test, with settings of its own.</summary>
    public static async Task<H2cBroker> StartWithAsync(params string[] args)
    {
        var broker = new H2cBroker(FreePort.Next(), args);
        await broker.InitializeAsync();
        return broker;
    }

    public Uri H2cAddress { get; }

    public Uri Http1Address => Addresses.Single(a => a.Port != H2cAddress.Port);

    /// <summary>A client that speaks only HTTP/2 without TLS; <paramref name="handler"/> may count its connections.</summary>
    public HttpClient CreateH2cClient(HttpMessageHandler? handler = null) => new(handler ?? new SocketsHttpHandler())
    {
        BaseAddress = H2cAddress,
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = TimeSpan.FromSeconds(60),
    };
}

/// <summary>
/// HTTP/2 multiplexes requests on one connection, and a client that gives up on one of them resets that stream
/// rather than closing the connection: the broker must see each stream as its own consumer.
/// </summary>
public sealed class H2cTests(H2cBroker broker) : IClassFixture<H2cBroker>
{
    [Fact]
    public async Task Both_ports_serve_the_api_each_in_its_own_protocol()
    {
        // Arrange
        using var h2c = broker.CreateH2cClient();
        using var http1 = new HttpClient { BaseAddress = broker.Http1Address };

        // Act
        using var overH2c = await h2c.GetAsync("/healthz");
        using var overHttp1 = await http1.GetAsync("/healthz");

        // Assert
        overH2c.Version.Should().Be(HttpVersion.Version20);
        overHttp1.Version.Should().Be(HttpVersion.Version11);
        await h2c.ShouldStillServeAsync();
        await http1.ShouldStillServeAsync();
    }

    [Theory]
    [InlineData("/healthz", HttpStatusCode.OK)]
    [InlineData("/queues", HttpStatusCode.OK)]
    [InlineData("/messages", HttpStatusCode.MethodNotAllowed)]
    [InlineData("/messages/consume?queue_name=h2-head", HttpStatusCode.MethodNotAllowed)]
    public async Task A_HEAD_over_h2c_is_answered_with_headers_and_no_body(string path, HttpStatusCode status)
    {
        using var h2c = broker.CreateH2cClient();
        using var request = new HttpRequestMessage(HttpMethod.Head, path)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        // A DATA frame after HEADERS on a HEAD is a protocol error: the client resets the stream and throws.
        using var response = await h2c.SendAsync(request, HttpCompletionOption.ResponseContentRead);

        response.StatusCode.Should().Be(status);
        (await response.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
        await h2c.ShouldStillServeAsync();
    }

    [Fact]
    public async Task Long_polls_sharing_one_connection_each_receive_their_own_message()
    {
        // Arrange: twenty consumers asleep on an empty queue, all on one connection.
        var connections = 0;
        using var h2c = broker.CreateH2cClient(new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                Interlocked.Increment(ref connections);
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            },
        });
        var queue = Json.UniqueQueueName("h2-polls");
        await h2c.CreateQueueAsync(queue);
        var waiters = broker.Services.GetRequiredService<WaitingConsumers>();
        var polls = Enumerable.Range(0, 20)
            .Select(_ => h2c.GetFromJsonAsync<List<MessageDto>>(
                $"/messages/consume?queue_name={queue}&size=1&wait_time=20", WonderQJson.Options))
            .ToList();
        await Eventually.ValueAsync(() => waiters.Count, count => count >= 20, "twenty consumers wait", TimeSpan.FromSeconds(30));

        // Act
        var sent = new List<long>();
        for (var i = 0; i < 20; i++)
        {
            sent.Add(await h2c.SendAsync(queue, $"message {i}"));
        }

        var received = await Task.WhenAll(polls);

        // Assert
        received.Should().AllSatisfy(messages => messages.Should().ContainSingle());
        received.Select(messages => messages![0].Id).Should().BeEquivalentTo(sent);
        connections.Should().Be(1, "HTTP/2 carries every request on the one connection");
    }

    [Fact]
    public async Task Long_poll_cancelled_by_its_client_stops_waiting_and_leaves_later_messages_to_others()
    {
        // Arrange: one consumer asleep, the connection kept open by another request's stream.
        using var h2c = broker.CreateH2cClient();
        var queue = Json.UniqueQueueName("h2-reset");
        await h2c.CreateQueueAsync(queue);
        var waiters = broker.Services.GetRequiredService<WaitingConsumers>();
        var before = waiters.Count;
        using var giveUp = new CancellationTokenSource();
        var poll = h2c.GetAsync($"/messages/consume?queue_name={queue}&size=1&wait_time=20", giveUp.Token);
        await Eventually.ValueAsync(() => waiters.Count, count => count > before, "the consumer waits", TimeSpan.FromSeconds(30));

        // Act: cancelling resets the stream; the connection stays open.
        await giveUp.CancelAsync();
        var cancelled = async () => await poll;
        await cancelled.Should().ThrowAsync<OperationCanceledException>();
        await Eventually.ValueAsync(() => waiters.Count, count => count == before, "the cancelled consumer has left", TimeSpan.FromSeconds(30));
        var id = await h2c.SendAsync(queue, "for whoever asks next");

        // Assert: the message went to no one, so the next consumer gets it at once.
        waiters.Count.Should().Be(before);
        var messages = await h2c.ConsumeAsync(queue, size: 10, waitTime: 0);
        messages.Should().ContainSingle().Which.Id.Should().Be(id);
    }

    [Fact]
    public async Task Bad_input_over_h2c_is_a_problem_and_a_body_over_the_limit_a_413()
    {
        // Arrange
        using var h2c = broker.CreateH2cClient();
        var tooLarge = new string('x', 3 * 1024 * 1024);

        // Act
        using var invalid = await h2c.PostAsync("/messages", Json.Raw("{\"queue_name\":\"\",\"body\":\"b\"}"));
        using var oversized = await h2c.PostAsync("/messages", Json.Raw($"{{\"queue_name\":\"q-1\",\"body\":\"{tooLarge}\"}}"));

        // Assert
        await invalid.ShouldBeClientProblemAsync(HttpStatusCode.BadRequest);
        var problem = await oversized.ShouldBeClientProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        problem.GetProperty("detail").GetString().Should().Contain("Limits:MaxRequestBodyBytes");
        await h2c.ShouldStillServeAsync();
    }

    [Fact]
    public async Task A_body_over_the_limit_without_a_declared_length_is_a_413_over_h2c_too()
    {
        // Arrange: a limit small enough that one read of the body passes it, and a body sent without a Content-Length,
        // as a client streaming it sends it (over HTTP/1.1 it would be chunked).
        await using var small = await H2cBroker.StartWithAsync("--Limits:MaxMessageBytes=1024", "--Limits:MaxRequestBodyBytes=1024");
        using var h2c = small.CreateH2cClient();
        using var tooLarge = new UndeclaredLengthContent(
            Encoding.UTF8.GetBytes($"{{\"queue_name\":\"q-1\",\"body\":\"{new string('x', 8 * 1024)}\"}}"));

        // Act
        using var oversized = await h2c.PostAsync("/messages", tooLarge);

        // Assert
        var problem = await oversized.ShouldBeClientProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        problem.GetProperty("detail").GetString().Should().Contain("Limits:MaxRequestBodyBytes");
        await h2c.ShouldStillServeAsync();
    }

    [Theory]
    [InlineData("HTTP/1.1", true)]
    [InlineData("HTTP/1.1", false)]
    [InlineData("h2c", true)]
    [InlineData("h2c", false)]
    public async Task A_send_of_1_5_MB_of_JSON_within_the_limits_is_stored_whole(string protocol, bool declaredLength)
    {
        // Arrange: 250,000 characters, each written as a \u escape, are a 1.5 MB body for a 250,000-byte message:
        // more than Kestrel's request buffer (Kestrel:Limits:MaxRequestBufferSize, 1 MiB) and the h2c stream's flow
        // control window (768 KiB), which the send reads to its end before it parses it.
        using var client = protocol == "h2c" ? broker.CreateH2cClient() : new HttpClient { BaseAddress = broker.Http1Address };
        var queue = Json.UniqueQueueName("escaped");
        await client.CreateQueueAsync(queue);
        var json = Encoding.UTF8.GetBytes($$"""{"queue_name":"{{queue}}","body":"{{string.Concat(Enumerable.Repeat("\\u0061", 250_000))}}"}""");
        using HttpContent content = declaredLength ? Json.Raw(json) : new UndeclaredLengthContent(json);

        // Act
        using var response = await client.PostAsync("/messages", content);

        // Assert
        response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var stored = await client.ConsumeAsync(queue);
        stored.Should().ContainSingle().Which.Body.Should().Be(new string('a', 250_000));
    }

    /// <summary>Content whose length HttpClient is not told, so that it sends no Content-Length.</summary>
    private sealed class UndeclaredLengthContent : HttpContent
    {
        private readonly byte[] _bytes;

        public UndeclaredLengthContent(byte[] bytes)
        {
            _bytes = bytes;
            Headers.ContentType = new("application/json");
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(_bytes).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
