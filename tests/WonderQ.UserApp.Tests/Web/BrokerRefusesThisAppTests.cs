using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using WonderQ.Shared.Json;
using WonderQ.UserApp.Tests.Infrastructure;

namespace WonderQ.UserApp.Tests.Web;

/// <summary>
/// A broker that refuses the UserApp itself (the name it is called by, the key it sends) is the UserApp's operator's
/// to fix, not its caller's: a 502 naming the setting, logged once; the broker's refusals of what the caller asked
/// still come through as they are.
/// </summary>
public sealed class BrokerRefusesThisAppTests
{
    private static readonly Dictionary<string, string> _oneAttempt = new() { ["Broker:MaxRetries"] = "0" };

    [Fact]
    public async Task A_broker_that_does_not_answer_the_userapps_name_for_it_is_a_502_naming_the_settings_and_logged_once()
    {
        // Arrange: a real broker that answers only "localhost", called by the UserApp as 127.0.0.1.
        await using var broker = await KestrelBroker.StartAsync("--AllowedHosts=localhost");
        await using var app = new UserAppFactory(broker.Url, _oneAttempt);
        using var http = app.CreateClient();

        // Act
        using var dispatch = await http.PostAsJsonAsync("/dispatch", new { queue_name = "orders", body = "hello" }, WonderQJson.Options);
        using var again = await http.PostAsJsonAsync("/dispatch", new { queue_name = "orders", stub = 3 }, WonderQJson.Options);
        using var listen = await http.GetAsync("/listen?queue_name=orders");

        // Assert
        foreach (var response in new[] { dispatch, again, listen })
        {
            var detail = await ShouldBeRefusedThisAppAsync(response, broker.Url);
            detail.Should().Contain("does not answer the name 127.0.0.1").And.Contain("Broker:Url").And.Contain("the broker's AllowedHosts")
                .And.NotContain("(Host): call it by", "that is the broker's word to its own caller, which the UserApp's caller is not");
        }

        app.Logs.Lines.Should().ContainSingle("one error says which setting to fix, not one line per request")
            .Which.Should().StartWith($"The broker at {broker.Url} does not answer the name 127.0.0.1");
        (await http.GetStringAsync("/listeners")).Should().Be("[]");
    }

    [Fact]
    public async Task A_broker_that_wants_a_key_the_userapp_does_not_send_is_a_502_saying_to_set_Broker_ApiKey_logged_once()
    {
        await using var broker = await KestrelBroker.StartAsync("--Auth:ApiKeys:0=the-brokers-key");
        await using var app = new UserAppFactory(broker.Url, _oneAttempt);
        using var http = app.CreateClient();

        for (var call = 0; call < 3; call++)
        {
            using var response = await http.PostAsJsonAsync("/dispatch", new { queue_name = "orders", body = "hello" }, WonderQJson.Options);
            var detail = await ShouldBeRefusedThisAppAsync(response, broker.Url);
            detail.Should().Contain("this app sends none: set Broker:ApiKey");
        }

        app.Logs.Lines.Should().ContainSingle().Which.Should().StartWith($"The broker at {broker.Url} requires an API key (401)");
    }

    [Fact]
    public async Task The_brokers_400_for_what_the_caller_asked_still_comes_through_as_a_400()
    {
        // The broker's names are shorter than the UserApp's: its refusal is about the caller's name, not this app.
        await using var broker = await KestrelBroker.StartAsync("--Limits:MaxQueueNameLength=5");
        await using var app = new UserAppFactory(broker.Url, _oneAttempt);
        using var http = app.CreateClient();

        using var response = await http.PostAsJsonAsync("/dispatch", new { queue_name = "far-too-long", body = "hello" }, WonderQJson.Options);

        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest, text);
        text.Should().Contain("5");
        app.Logs.Lines.Should().BeEmpty();
    }

    private static async Task<string> ShouldBeRefusedThisAppAsync(HttpResponseMessage response, Uri brokerUrl)
    {
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.BadGateway, text);
        response.Content.Headers.ContentType?.MediaType.Should().Be("application/problem+json");
        var problem = JsonDocument.Parse(text).RootElement;
        problem.GetProperty("title").GetString().Should().Be("The broker refused this app.");
        var detail = problem.GetProperty("detail").GetString()!;
        detail.Should().Contain(brokerUrl.Authority);
        return detail;
    }
}
