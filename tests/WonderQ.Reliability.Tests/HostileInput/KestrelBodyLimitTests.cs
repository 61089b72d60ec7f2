using FluentAssertions;
using WonderQ.Reliability.Tests.Support;
using static WonderQ.Reliability.Tests.Support.HostileRequests;

namespace WonderQ.Reliability.Tests.HostileInput;

/// <summary>
/// Body limits as a real client meets them, through Kestrel's socket: TestServer does not enforce Kestrel's
/// MaxRequestBodySize, which is what stops a chunked body that never declares its length.
/// </summary>
public sealed class KestrelBodyLimitTests(KestrelBroker broker) : IClassFixture<KestrelBroker>
{
    [Theory]
    [InlineData("/messages")]
    [InlineData("/queues")]
    public async Task Chunked_body_without_content_length_over_the_limit_is_a_413_problem(string path)
    {
        // Arrange
        var head = RawHttp.PostJson(path, chunked: true);

        // Act
        var response = await RawHttp.SendAsync(broker.Url, head, RawHttp.Chunked(
            // Only the fields the endpoint takes, so that the body's length is all that is wrong with it.
            path == "/queues" ? "{\"name\":\"" : "{\"queue_name\":\"q-1\",\"body\":\"", OverLimit, "\"}"));

        // Assert
        var problem = response.ShouldBeProblem(413);
        problem.GetProperty("detail").GetString().Should().Contain("Limits:MaxRequestBodyBytes");

        using var client = broker.CreateClient();
        await client.ShouldStillServeAsync();
    }

    [Fact]
    public async Task Declared_content_length_over_the_limit_is_a_413_before_the_body_is_sent()
    {
        // Arrange: the head alone, promising 3 MiB that never comes: the answer must not wait for it.
        var head = RawHttp.PostJson("/messages", chunked: false, OverLimit);

        // Act
        var response = await RawHttp.SendAsync(broker.Url, head);

        // Assert
        var problem = response.ShouldBeProblem(413);
        problem.GetProperty("detail").GetString().Should().Contain("Limits:MaxRequestBodyBytes");
    }

    [Fact]
    public async Task Declared_content_length_over_the_limit_says_the_connection_closes()
    {
        // Arrange: a kept-alive request, as a client that reuses its connection sends it. The broker does not read the
        // body it refused, so it cannot read a next request after it either, and closes the connection.
        var head = RawHttp.PostJson("/messages", chunked: false, OverLimit).Replace("Connection: close\r\n", "");

        // Act
        var response = await RawHttp.SendAsync(broker.Url, head);

        // Assert: said in the answer, or a client sends its next request down a connection about to close and sees it
        // reset (Python's http.client: a BrokenPipeError) rather than a 413 it can act on.
        response.ShouldBeProblem(413);
        response.Header("Connection").Should().Be("close");
    }

    [Fact]
    public async Task Chunked_body_under_the_limit_is_accepted()
    {
        // Arrange
        using var client = broker.CreateClient();
        var queue = Json.UniqueQueueName("chunked");
        await client.CreateQueueAsync(queue);
        var head = RawHttp.PostJson("/messages", chunked: true);

        // Act
        var response = await RawHttp.SendAsync(broker.Url, head, RawHttp.Chunked($"{{\"queue_name\":\"{queue}\",\"body\":\"", 64 * 1024, "\"}"));

        // Assert
        response.Status.Should().Be(201, response.Body);
    }
}
