using System.Net;
using System.Text.Json;
using WonderQ.UserApp.Tests.Infrastructure;

namespace WonderQ.UserApp.Tests.Web;

/// <summary>A broker client whose Broker:Url points at the UserApp is told so, not answered as a user would be.</summary>
public sealed class NotTheBrokerTests(UserAppOnASocket apps) : IClassFixture<UserAppOnASocket>, IDisposable
{
    private readonly HttpClient _userApp = apps.CreateClient();

    [Fact]
    public async Task A_request_from_a_broker_client_is_a_421_saying_this_is_the_userapp()
    {
        using var response = await GetListenersViaAsync("1.1 wonderq-broker-client");

        response.StatusCode.Should().Be(HttpStatusCode.MisdirectedRequest);
        response.Content.Headers.ContentType?.MediaType.Should().Be("application/problem+json");
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        problem.RootElement.GetProperty("detail").GetString().Should().StartWith("This is the WonderQ UserApp, not the broker");
    }

    [Fact]
    public async Task Another_proxys_via_is_no_reason_to_refuse()
    {
        using var response = await GetListenersViaAsync("1.1 nginx");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("1.1 wonderq-broker-client-gateway")]
    [InlineData("1.1 edge.example.com (forwarded for wonderq-broker-client.example.com)")]
    [InlineData("1.1 my-wonderq-broker-client")]
    public async Task A_proxys_via_that_merely_contains_the_clients_name_is_no_reason_to_refuse(string via)
    {
        using var response = await GetListenersViaAsync(via);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("1.1 wonderq-broker-client, 1.1 nginx")]
    [InlineData("1.0 fred, HTTP/1.1 WonderQ-Broker-Client (a comment)")]
    public async Task A_broker_client_behind_a_proxy_is_still_refused(string via)
    {
        using var response = await GetListenersViaAsync(via);

        response.StatusCode.Should().Be(HttpStatusCode.MisdirectedRequest);
    }

    public void Dispose() => _userApp.Dispose();

    private async Task<HttpResponseMessage> GetListenersViaAsync(string via)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/listeners");
        request.Headers.TryAddWithoutValidation("Via", via);
        return await _userApp.SendAsync(request);
    }
}
