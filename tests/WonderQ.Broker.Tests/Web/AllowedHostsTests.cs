using System.Net;

namespace WonderQ.Broker.Tests.Web;

/// <summary>A broker exposed under names of its own answers those, as ASP.NET Core's host filtering would match them.</summary>
public sealed class AllowedHostsTests
{
    [Theory]
    [InlineData("queues.example:3213", HttpStatusCode.OK)]
    [InlineData("QUEUES.example", HttpStatusCode.OK)]
    [InlineData("a.corp.example:3213", HttpStatusCode.OK)]
    [InlineData("corp.example", HttpStatusCode.BadRequest)]
    [InlineData("localhost", HttpStatusCode.BadRequest)]
    [InlineData("queues.example.evil.example", HttpStatusCode.BadRequest)]
    public async Task Names_of_its_own_are_answered_and_no_others(string host, HttpStatusCode expected)
    {
        await using var broker = new BrokerApplication(settings: new Dictionary<string, string> { ["AllowedHosts"] = "queues.example; *.corp.example" });

        var status = await StatusForAsync(broker, host);

        status.Should().Be(expected);
    }

    [Fact]
    public async Task A_star_answers_any_name()
    {
        await using var broker = new BrokerApplication(settings: new Dictionary<string, string> { ["AllowedHosts"] = "*" });

        var status = await StatusForAsync(broker, "evil.example");

        status.Should().Be(HttpStatusCode.OK);
    }

    private static async Task<HttpStatusCode> StatusForAsync(BrokerApplication broker, string host)
    {
        using var client = broker.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/queues");
        request.Headers.Host = host;
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }
}
