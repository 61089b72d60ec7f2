using System.Net;
using System.Net.Sockets;
using System.Text;
using FluentAssertions;

namespace WonderQ.DevTool.Tests.Queues;

/// <summary>What the DevTool answers when the broker is gone or misbehaves: a problem+json that says so, never a 500.</summary>
public sealed class BrokerFailureTests
{
    [Theory]
    [InlineData("/queues")]
    [InlineData("/queues/orders")]
    public async Task A_broker_that_is_down_is_a_503_naming_its_url(string path)
    {
        var url = $"http://127.0.0.1:{UnusedPort()}/";
        await using var devTool = new DevToolApplication(brokerHandler: null, url);
        using var client = devTool.CreateClient();

        using var response = await client.GetAsync(path);

        var problem = await ProblemAssertions.ShouldBeProblemAsync(response, HttpStatusCode.ServiceUnavailable, url);
        problem.GetProperty("title").GetString().Should().Be("The broker is unreachable.");
    }

    [Fact]
    public async Task A_broker_that_answers_a_server_error_is_a_502()
    {
        await using var devTool = new DevToolApplication(() => new StubHandler(HttpStatusCode.InternalServerError,
            """{"status":500,"title":"An unexpected error occurred.","detail":"The broker could not complete the request."}""", "application/problem+json"));
        using var client = devTool.CreateClient();

        using var response = await client.GetAsync("/queues");

        await ProblemAssertions.ShouldBeProblemAsync(response, HttpStatusCode.BadGateway, "answered with a server error");
    }

    [Fact]
    public async Task Something_else_listening_at_the_broker_url_is_a_502()
    {
        await using var devTool = new DevToolApplication(() => new StubHandler(HttpStatusCode.OK, "<html>not a broker</html>", "text/html"));
        using var client = devTool.CreateClient();

        using var response = await client.GetAsync("/queues");

        await ProblemAssertions.ShouldBeProblemAsync(response, HttpStatusCode.BadGateway, "did not answer like a WonderQ broker");
    }

    [Fact]
    public async Task A_broker_that_refuses_the_devtools_api_key_is_a_502_that_says_which_setting_to_fix()
    {
        await using var devTool = new DevToolApplication(() => new StubHandler(HttpStatusCode.Unauthorized,
            """{"status":401,"title":"Unauthorized","detail":"Send 'Authorization: Bearer <key>'."}""", "application/problem+json"));
        using var client = devTool.CreateClient();

        using var response = await client.GetAsync("/queues");

        await ProblemAssertions.ShouldBeProblemAsync(response, HttpStatusCode.BadGateway, "Broker:ApiKey");
    }

    private static int UnusedPort()
    {
        // Bind, note the port, let it go: nothing listens there for the moment the test needs.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class StubHandler(HttpStatusCode status, string body, string contentType) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, contentType) });
    }
}
