using FluentAssertions;
using WonderQ.Reliability.Tests.Support;

namespace WonderQ.Reliability.Tests.Auth;

/// <summary>
/// /healthz is the one path open without a key; no spelling of another path may pass for it. Sent over a bare socket,
/// since HttpClient would normalise these paths before they left.
/// </summary>
public sealed class PathTrickTests(AuthenticatedKestrelBroker broker) : IClassFixture<AuthenticatedKestrelBroker>
{
    [Theory]
    [InlineData("/healthz/../queues")]
    [InlineData("/healthz/%2e%2e/queues")]
    [InlineData("/healthz/./../queues")]
    [InlineData("//queues")]
    [InlineData("/QUEUES")]
    [InlineData("/queues/")]
    [InlineData("/healthz/..%2Fqueues")]
    [InlineData("/healthz%2F..%2Fqueues")]
    [InlineData("/queues?x=/healthz")]
    public async Task Path_dressed_up_as_the_health_check_still_needs_a_key(string path)
    {
        // Arrange
        var head = $"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";

        // Act
        var response = await RawHttp.SendAsync(broker.Url, head);

        // Assert: refused, or at worst no such endpoint; never an answer with queue data.
        response.Status.Should().BeOneOf([401, 404], response.Head + "\n" + response.Body);
        response.ShouldBeProblem(response.Status);
    }

    [Fact]
    public async Task Health_check_over_the_socket_needs_no_key()
    {
        // Arrange
        const string Head = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";

        // Act
        var response = await RawHttp.SendAsync(broker.Url, Head);

        // Assert
        response.Status.Should().Be(200);
    }

    [Fact]
    public async Task Key_after_more_than_one_space_is_accepted()
    {
        // Arrange: RFC 9110 (11.4) puts one or more spaces between the scheme and the key; HttpClient would send one.
        var head = $"GET /queues HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer   {AuthenticatedBroker.Key}\r\nConnection: close\r\n\r\n";

        // Act
        var response = await RawHttp.SendAsync(broker.Url, head);

        // Assert
        response.Status.Should().Be(200, response.Body);
    }

    [Fact]
    public async Task Key_in_the_query_string_is_not_accepted()
    {
        // Arrange
        var head = $"GET /queues?access_token={AuthenticatedBroker.Key}&api_key={AuthenticatedBroker.Key} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";

        // Act
        var response = await RawHttp.SendAsync(broker.Url, head);

        // Assert
        response.ShouldBeProblem(401);
    }
}
