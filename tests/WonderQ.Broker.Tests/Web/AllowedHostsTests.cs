using System.Net;
using Microsoft.Extensions.Options;

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

    [Theory]
    [InlineData("localhost:3213", "localhost")]
    [InlineData("[::1]:3213", "[::1]")]
    [InlineData("evil.example", "evil.example")]
    public async Task A_refused_name_is_said_without_its_port_as_it_is_to_be_added_to_the_setting(string host, string name)
    {
        // The setting matches names with their ports ignored, and an entry with a port matches nothing: told to add
        // "localhost:3213", an operator would add it, and the broker would go on refusing localhost.
        await using var broker = new BrokerApplication(settings: new Dictionary<string, string> { ["AllowedHosts"] = "queues.example" });
        using var client = broker.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/queues");
        request.Headers.Host = host;

        using var response = await client.SendAsync(request);

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        problem.GetProperty("detail").GetString().Should().Be(
            $"This app does not answer the name {name} (Host): call it by a name in its AllowedHosts setting, or add that name there.");
    }

    [Fact]
    public async Task A_star_answers_any_name()
    {
        await using var broker = new BrokerApplication(settings: new Dictionary<string, string> { ["AllowedHosts"] = "*" });

        var status = await StatusForAsync(broker, "evil.example");

        status.Should().Be(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ; ")]
    public void A_value_that_names_no_host_stops_the_broker_rather_than_answering_any_name(string value)
    {
        // The framework would take it as *, and a page that points its own name at 127.0.0.1 could drain the queues.
        using var database = new TempDatabase();
        var start = () => Program.CreateApp(
            ["--urls", "http://127.0.0.1:0", $"--Storage:Sqlite:Path={database.Path}", $"--AllowedHosts={value}"]);

        start.Should().Throw<OptionsValidationException>().Which.Failures.Should().Equal(
            "AllowedHosts names no host: give the names this app answers, ';'-separated (localhost;127.0.0.1;[::1] in appsettings.json), or * for any.");
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
