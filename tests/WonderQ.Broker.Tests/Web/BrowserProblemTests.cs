using System.Net;
using System.Net.Http.Headers;

namespace WonderQ.Broker.Tests.Web;

/// <summary>
/// An error asked for by a browser (<c>Accept: text/html</c>, which leaves JSON out) is the same problem+json a client
/// gets, over a real socket: the framework's own writer declines such a request, and the one that writes it instead
/// left out the trace id a person reports an error by.
/// </summary>
public sealed class BrowserProblemTests(KestrelBroker broker) : IClassFixture<KestrelBroker>, IDisposable
{
    private readonly HttpClient _client = broker.CreateClient();

    [Theory]
    [InlineData("GET", "/nowhere", HttpStatusCode.NotFound)]
    [InlineData("PUT", "/queues", HttpStatusCode.MethodNotAllowed)]
    [InlineData("GET", "/queues/find", HttpStatusCode.BadRequest)]
    [InlineData("GET", "/queues/find?name=no-such-queue", HttpStatusCode.NotFound)]
    public async Task An_error_asked_for_as_html_is_the_problem_json_a_client_gets_with_its_trace_id(string method, string target, HttpStatusCode status)
    {
        using var asJson = await SendAsync(method, target, "application/json");
        using var asHtml = await SendAsync(method, target, "text/html");

        var json = await asJson.ShouldBeProblemAsync(status);
        var html = await asHtml.ShouldBeProblemAsync(status);
        html.PropertyNames().Should().BeEquivalentTo(json.PropertyNames());
        html.GetProperty("type").GetString().Should().Be(json.GetProperty("type").GetString());
        html.GetProperty("trace_id").GetString().Should().NotBeNullOrWhiteSpace()
            .And.NotBe(json.GetProperty("trace_id").GetString(), "each request has its own");
    }

    private async Task<HttpResponseMessage> SendAsync(string method, string target, string accept)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), target);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
        return await _client.SendAsync(request);
    }

    public void Dispose() => _client.Dispose();
}
