using System.Net;
using System.Text;
using System.Text.Json;
using WonderQ.UserApp.Tests.Infrastructure;

namespace WonderQ.UserApp.Tests.Web;

/// <summary>
/// Over real sockets: a query parameter or a body field the UserApp's endpoint does not take is a 400 naming it, before
/// anything reaches the broker. Ignored, <c>{"stubs":100}</c> dispatched one message and <c>visiblity_timeout=5</c>
/// started a loop reserving for 30 s.
/// </summary>
public sealed class UnknownParameterTests(UserAppOnASocket apps) : IClassFixture<UserAppOnASocket>, IDisposable
{
    private readonly HttpClient _userApp = apps.CreateClient();
    private readonly TestBrokerClient _broker = new(apps.BrokerUrl);

    [Fact]
    public async Task A_dispatch_with_an_unknown_field_is_a_400_keyed_by_it_and_sends_nothing()
    {
        var name = QueueName("typo");

        using var response = await _userApp.PostAsync("/dispatch", Json($$"""{"queue_name":"{{name}}","stubs":100}"""));

        var problem = await ShouldBeInvalidAsync(
            response, "stubs", "'stubs' is not a field of POST /dispatch: its JSON body takes queue_id, queue_name, body, stub.");
        problem.GetProperty("errors").EnumerateObject().Select(e => e.Name).Should().Equal("stubs");
        (await _broker.Client.ListQueuesAsync()).Should().NotContain(q => q.Name == name, "the refused dispatch created no queue");
    }

    [Fact]
    public async Task A_dispatch_with_its_parameters_in_the_query_string_is_a_400_pointing_at_the_body()
    {
        var name = QueueName("query");

        using var response = await _userApp.PostAsync("/dispatch?stub=100", Json($$"""{"queue_name":"{{name}}"}"""));

        await ShouldBeInvalidAsync(
            response,
            "stub",
            "'stub' is not a parameter of POST /dispatch: it takes none in the query string; give queue_id, queue_name, body, stub in the JSON body.");
        (await _broker.Client.ListQueuesAsync()).Should().NotContain(q => q.Name == name);
    }

    [Theory]
    [InlineData("GET", "/listen?queue_name={queue}&visiblity_timeout=5", "visiblity_timeout",
        "'visiblity_timeout' is not a parameter of GET /listen: it takes queue_id, queue_name, size, wait_time, visibility_timeout.")]
    [InlineData("DELETE", "/listen?queue={queue}", "queue", "'queue' is not a parameter of DELETE /listen: it takes queue_id, queue_name.")]
    public async Task An_unknown_query_parameter_is_a_400_naming_it_and_starts_or_stops_nothing(string method, string target, string name, string detail)
    {
        var queue = QueueName("listen");
        await _broker.Client.CreateQueueAsync(queue);

        using var response = await _userApp.SendAsync(new HttpRequestMessage(new HttpMethod(method), target.Replace("{queue}", queue, StringComparison.Ordinal)));

        await ShouldBeInvalidAsync(response, name, detail);
        (await _userApp.GetStringAsync("/listeners")).Should().NotContain(queue, "no loop was started");
    }

    [Fact]
    public async Task A_listen_with_its_settings_in_a_body_is_a_400_and_starts_no_loop()
    {
        // Ignored, the body's settings gave way to the defaults: a loop reserving for 30 s, not the 5 asked for.
        var queue = QueueName("body");
        await _broker.Client.CreateQueueAsync(queue);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/listen?queue_name={queue}")
        {
            Content = Json("""{"visibility_timeout":5}"""),
        };

        using var response = await _userApp.SendAsync(request);

        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest, text);
        JsonDocument.Parse(text).RootElement.GetProperty("detail").GetString().Should().Be(
            "GET /listen reads no request body: give queue_id, queue_name, size, wait_time, visibility_timeout in the query string.");
        (await _userApp.GetStringAsync("/listeners")).Should().NotContain(queue, "no loop was started");
    }

    [Fact]
    public async Task Requests_with_every_documented_parameter_are_answered_as_before()
    {
        var queue = QueueName("every");

        using var created = await _userApp.PostAsync("/dispatch", Json($$"""{"queue_name":"{{queue}}","stub":2}"""));
        var id = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("queue").GetProperty("id").GetInt64();
        using var one = await _userApp.PostAsync("/dispatch", Json($$"""{"queue_id":{{id}},"queue_name":"{{queue}}","body":"one","stub":1}"""));
        using var listen = await _userApp.GetAsync(
            $"/listen?queue_id={id}&queue_name={queue}&size=5&wait_time=1&visibility_timeout=45");
        var listening = JsonDocument.Parse(await listen.Content.ReadAsStringAsync()).RootElement;
        using var stopped = await _userApp.DeleteAsync($"/listen?queue_id={id}&queue_name={queue}");

        created.StatusCode.Should().Be(HttpStatusCode.OK);
        one.StatusCode.Should().Be(HttpStatusCode.OK);
        listen.StatusCode.Should().Be(HttpStatusCode.Accepted);
        listening.GetProperty("size").GetInt32().Should().Be(5);
        listening.GetProperty("wait_time").GetInt32().Should().Be(1);
        listening.GetProperty("visibility_timeout").GetInt32().Should().Be(45);
        stopped.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Names_match_without_regard_to_case()
    {
        var queue = QueueName("case");
        using var dispatched = await _userApp.PostAsync("/dispatch", Json($$"""{"Queue_Name":"{{queue}}","STUB":3}"""));
        using var listen = await _userApp.GetAsync($"/listen?QUEUE_NAME={queue}&Visibility_Timeout=45&wait_time=1");
        var listening = JsonDocument.Parse(await listen.Content.ReadAsStringAsync()).RootElement;
        using var stopped = await _userApp.DeleteAsync($"/listen?Queue_Name={queue}");

        dispatched.StatusCode.Should().Be(HttpStatusCode.OK);
        JsonDocument.Parse(await dispatched.Content.ReadAsStringAsync()).RootElement.GetProperty("created").GetInt32().Should().Be(3);
        listen.StatusCode.Should().Be(HttpStatusCode.Accepted);
        listening.GetProperty("visibility_timeout").GetInt32().Should().Be(45);
        stopped.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("/listeners?_=1733000000000")]
    [InlineData("/openapi/v1.json?_=1")]
    public async Task An_endpoint_that_takes_no_parameters_leaves_a_cache_buster_alone(string target)
    {
        using var response = await _userApp.GetAsync(target);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    public void Dispose()
    {
        _userApp.Dispose();
        _broker.Dispose();
    }

    private static string QueueName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..32];

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonElement> ShouldBeInvalidAsync(HttpResponseMessage response, string name, string detail)
    {
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest, text);
        response.Content.Headers.ContentType?.MediaType.Should().Be("application/problem+json");
        var problem = JsonDocument.Parse(text).RootElement.Clone();
        problem.GetProperty("title").GetString().Should().Be("The request is not valid.");
        problem.GetProperty("detail").GetString().Should().Be(detail);
        problem.GetProperty("errors").GetProperty(name).EnumerateArray().Select(e => e.GetString()).Should().Equal(detail);
        return problem;
    }
}
