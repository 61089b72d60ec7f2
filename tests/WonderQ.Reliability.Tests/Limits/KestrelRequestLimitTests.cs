using FluentAssertions;
using WonderQ.Reliability.Tests.Support;

namespace WonderQ.Reliability.Tests.Limits;

/// <summary>The server's own limits on request lines and headers answer with a 4xx, never a 5xx or a hang.</summary>
public sealed class KestrelRequestLimitTests(KestrelBroker broker) : IClassFixture<KestrelBroker>
{
    [Fact]
    public async Task Query_string_of_20_KB_is_refused_with_a_4xx()
    {
        // Arrange
        var query = HostileRequests.QueryPastTheRequestLineLimit();
        query.Length.Should().BeGreaterThan(20_000);
        var head = RawHttp.Get($"/messages/consume?queue_name=q-1&wait_time=0&{query}");

        // Act
        var response = await RawHttp.SendAsync(broker.Url, head);

        // Assert
        response.Status.Should().BeOneOf(414, 431, 400);
        Problems.ShouldNotLeak(response.Body, response.Body);
        using var client = broker.CreateClient();
        await client.ShouldStillServeAsync();
    }

    [Fact]
    public async Task Header_of_40_KB_is_refused_with_a_4xx()
    {
        // Arrange
        var head = $"GET /queues HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: {new string('h', 40_000)}\r\nConnection: close\r\n\r\n";

        // Act
        var response = await RawHttp.SendAsync(broker.Url, head);

        // Assert
        response.Status.Should().BeOneOf(431, 400);
        Problems.ShouldNotLeak(response.Body, response.Body);
    }

    [Fact]
    public async Task Two_hundred_headers_are_refused_with_a_4xx()
    {
        // Arrange
        var headers = string.Concat(Enumerable.Range(0, 200).Select(i => $"X-H{i}: {i}\r\n"));
        var head = $"GET /queues HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}Connection: close\r\n\r\n";

        // Act
        var response = await RawHttp.SendAsync(broker.Url, head);

        // Assert
        response.Status.Should().BeOneOf(431, 400);
        Problems.ShouldNotLeak(response.Body, response.Body);
    }

    [Theory]
    [InlineData("GARBAGE\r\n\r\n")]
    [InlineData("GET /queues/%00/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")]
    [InlineData("GET /queues/a\u0001b/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")]
    [InlineData("GET /queues HTTP/1.1\r\nConnection: close\r\n\r\n")]
    [InlineData("POST /messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nContent-Length: 7\r\nConnection: close\r\n\r\nhello")]
    [InlineData("POST /messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\nConnection: close\r\n\r\n")]
    [InlineData("POST /messages HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\nConnection: close\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n")]
    public async Task Malformed_HTTP_is_refused_with_a_4xx(string raw)
    {
        // Act
        var response = await RawHttp.SendAsync(broker.Url, raw);

        // Assert: Kestrel refuses most of these itself, with no body; what reaches the broker is answered as a problem.
        response.Status.Should().BeInRange(400, 499, response.Head);
        if (response.Body.Length > 0)
        {
            response.ShouldBeProblem(response.Status);
        }
    }

    [Fact]
    public async Task Unknown_HTTP_version_is_answered_505_by_the_server_itself()
    {
        // Arrange: the one 5xx a client can provoke, and the right one: RFC 9110 §15.6.6 reserves 505 for it.
        const string Raw = "GET /queues HTTP/9.9\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";

        // Act
        var response = await RawHttp.SendAsync(broker.Url, Raw);

        // Assert
        response.Status.Should().Be(505);
        Problems.ShouldNotLeak(response.Body, response.Body);
        using var client = broker.CreateClient();
        await client.ShouldStillServeAsync();
    }
}
