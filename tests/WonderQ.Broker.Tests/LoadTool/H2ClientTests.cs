using System.Text;
using Microsoft.Extensions.DependencyInjection;
using WonderQ.Broker.Messages;
using WonderQ.LoadTest;
using WonderQ.LoadTest.Wire;

namespace WonderQ.Broker.Tests.LoadTool;

/// <summary>
/// The load tool's HTTP/2 client (<c>--http2</c>; tests/WonderQ.LoadTest/Wire/H2Connection.cs) against the broker
/// serving h2c: many requests on few connections, bodies over several frames and past the first flow-control window,
/// a long poll given up on, and errors counted as over HTTP/1.1.
/// </summary>
public sealed class H2ClientTests : IAsyncLifetime
{
    private KestrelBroker _broker = null!;

    public async Task InitializeAsync() => _broker = await KestrelBroker.StartAsync("--Kestrel:EndpointDefaults:Protocols=Http2");

    public Task DisposeAsync() => _broker.DisposeAsync();

    [Fact]
    public async Task Three_hundred_sends_at_once_share_two_connections_and_come_back_whole()
    {
        // Arrange: more requests at once than the two connections' 200 slots.
        using var client = new BrokerClient(_broker.Url, 300, http2Connections: 2);
        var queue = await client.CreateQueueAsync(Wire.UniqueQueueName("h2"), CancellationToken.None);
        var send = new Recorder("send");
        var consume = new Recorder("consume");
        var bodies = Enumerable.Range(0, 300).Select(i => $"message {i} \"quoted\" \u00e9").ToList();

        // Act
        var ids = await Task.WhenAll(bodies.Select(body => client.SendAsync(queue.Id, body, send, CancellationToken.None)));
        var batches = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => client.ConsumeAsync(queue.Id, 10, 0, 60, consume, CancellationToken.None)));

        // Assert
        ids.Should().OnlyContain(id => id > 0).And.OnlyHaveUniqueItems();
        var received = batches.SelectMany(batch => batch!).ToList();
        received.Select(m => m.Id).Should().BeEquivalentTo(ids.Select(id => id!.Value));
        received.Select(m => m.Body).Should().BeEquivalentTo(bodies);
        client.ConnectionsOpened.Should().Be(2);
        client.Errors.Snapshot().Should().BeEmpty();
    }

    [Fact]
    public async Task A_burst_of_as_many_sends_as_its_connections_have_streams_runs_rather_than_being_refused()
    {
        // Two connections' 200 streams carry all 200 sends; the setup calls go over an HttpClient of their own, and a
        // spare 4 for them refused this burst for wanting --http2 3.
        var options = LoadOptions.Parse(["burst", "--concurrency", "200", "--http2", "2", "--url", _broker.Url.ToString(), "--json", "--quiet"]);
        var output = new StringWriter();

        var exitCode = await Session.RunAsync(options, output, TextWriter.Null);

        exitCode.Should().Be(0, output.ToString());
        using var json = System.Text.Json.JsonDocument.Parse(output.ToString());
        json.RootElement.GetProperty("transport").GetString().Should().Be("h2c");
        json.RootElement.GetProperty("extra").GetProperty("acknowledged").GetInt64().Should().Be(200);
    }

    [Fact]
    public async Task Bodies_over_several_frames_and_past_the_connection_window_go_out_and_come_back_whole()
    {
        // Arrange: eight 200 KB messages sent at once, in 16 KiB frames and 1.6 MB in all, past the 1 MiB the broker
        // lets a connection send before it has read some and said so (WINDOW_UPDATE); then read back in one answer.
        using var client = new BrokerClient(_broker.Url, 8, http2Connections: 1);
        var queue = await client.CreateQueueAsync(Wire.UniqueQueueName("h2-big"), CancellationToken.None);
        var bodies = Enumerable.Range(0, 8).Select(i => new string((char)('a' + i), 200_000)).ToList();
        var recorder = new Recorder("any");

        // Act
        var ids = await Task.WhenAll(bodies.Select(body => client.SendAsync(queue.Id, body, recorder, CancellationToken.None)));
        var messages = await client.ConsumeAsync(queue.Id, 10, 0, 60, recorder, CancellationToken.None);

        // Assert
        ids.Should().OnlyContain(id => id > 0);
        messages!.Select(m => m.Body).Should().BeEquivalentTo(bodies);
        client.Errors.Snapshot().Should().BeEmpty();
    }

    [Fact]
    public async Task A_long_poll_given_up_on_ends_at_once_and_its_connection_carries_on()
    {
        // Arrange
        using var client = new BrokerClient(_broker.Url, 8, http2Connections: 1);
        var queue = await client.CreateQueueAsync(Wire.UniqueQueueName("h2-cancel"), CancellationToken.None);
        var recorder = new Recorder("any");
        using var giveUp = new CancellationTokenSource();
        var waiting = _broker.Services.GetRequiredService<WaitingConsumers>();
        var poll = client.ConsumeAsync(queue.Id, 1, 20, 60, recorder, giveUp.Token);
        await Eventually.TrueAsync(() => waiting.Count == 1, "the long poll waits on the broker");

        // Act
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        await giveUp.CancelAsync();
        var given = await poll;
        var ended = stopwatch.Elapsed;

        // A send that reached the broker before the stream's reset would be handed to the poll on its way out, and
        // reserved for no one for its visibility timeout, which no client can prevent; past the reset, none may be.
        await Eventually.TrueAsync(() => waiting.Count == 0, "the broker has let the poll go");
        var id = await client.SendAsync(queue.Id, "after", recorder, CancellationToken.None);
        var messages = await client.ConsumeAsync(queue.Id, 10, 0, 60, recorder, CancellationToken.None);

        // Assert: the reset stream took no message with it.
        given.Should().BeNull();
        ended.Should().BeLessThan(TimeSpan.FromSeconds(5));
        messages.Should().ContainSingle().Which.Id.Should().Be(id);
        client.ConnectionsOpened.Should().Be(1);
        client.Errors.Snapshot().Should().BeEmpty();
    }

    [Fact]
    public async Task Error_answers_are_counted_by_status_and_a_server_that_is_gone_by_exception()
    {
        // Arrange
        using var client = new BrokerClient(_broker.Url, 8, http2Connections: 1);
        var recorder = new Recorder("any");
        var missing = new Received(987_654, "", "nope");

        // Act
        var deleted = await client.DeleteAsync(missing, recorder, CancellationToken.None);
        var sent = await client.SendAsync(987_654, "to no queue", recorder, CancellationToken.None);
        await _broker.StopAsync();
        var afterStop = await client.SendAsync(987_654, "to no server", recorder, CancellationToken.None);

        // Assert
        (deleted, sent, afterStop).Should().Be((404, null, null));
        var errors = client.Errors.Snapshot();
        errors.Keys.Should().Contain("POST /messages 404").And.NotContain("DELETE /messages 404", "a refused delete is the run's to judge");
        errors.Keys.Should().Contain(key => key.StartsWith("POST /messages ", StringComparison.Ordinal) && !key.EndsWith("404", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Requests_the_server_took_before_its_goaway_are_answered_even_when_the_pool_replaces_the_connection()
    {
        // Arrange: a request held on the pool's only connection, then a graceful stop: no new connections, a GOAWAY,
        // and the request it took still to be answered.
        await using var server = await WireTestServer.StartAsync(http2: true);
        using var connector = new WirePool(server.Url, 4);
        using var pool = new H2Pool(connector, connections: 1, streamsPerConnection: 100);
        var connection = await pool.ReserveAsync(CancellationToken.None);
        var held = Start(connection, connector, "hold"u8);
        await Eventually.TrueAsync(() => server.PeakInFlight == 1, "the server holds the request");
        var stopping = server.StopAsync();
        await Eventually.TrueAsync(() => !connection.IsUsable, "the connection is going away");

        // Act: the next request finds the connection going away and tries a new one, which the stopping server refuses.
        var next = async () => await pool.ReserveAsync(CancellationToken.None);
        await next.Should().ThrowAsync<HttpRequestException>();
        server.Release.SetResult();
        await held.WaitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        // Assert
        held.Status.Should().Be(200);
        Encoding.UTF8.GetString(held.Body.WrittenSpan).Should().StartWith("held on");
        await stopping.WaitAsync(TimeSpan.FromSeconds(10));
    }

    private static H2Stream Start(H2Connection connection, WirePool connector, ReadOnlySpan<byte> path)
    {
        var parts = new RequestParts();
        parts.Reset(connector.BasePath);
        parts.Target.Append(path);
        H2Headers.WriteRequest(parts.HeaderBlock, WireMethod.Get, parts.Target.WrittenSpan, connector.HostHeader, json: false);
        return connection.Start(parts.HeaderBlock.WrittenSpan, parts.Body.WrittenSpan);
    }
}
