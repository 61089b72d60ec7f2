using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using WonderQ.Reliability.Tests.Support;
using WonderQ.Shared.Json;
using Xunit.Abstractions;
using static WonderQ.Reliability.Tests.Support.HostileRequests;

namespace WonderQ.Reliability.Tests.HostileInput;

/// <summary>
/// Every endpoint of the DevTool, running on Kestrel in front of a real broker, fed what a careless or hostile client
/// might send. Its own checks and the broker's refusals passed through must both come out as a 4xx problem+json
/// without internals, and the DevTool goes on serving.
/// </summary>
public sealed class DevToolHostileInputTests(DevToolInFront apps, ITestOutputHelper output)
    : FrontedAppHostileInputTests(apps, output), IClassFixture<DevToolInFront>
{
    public static TheoryData<string, string, string, string?, string?, int> Requests()
    {
        var longName = new string('q', 100_000);
        var bigBody = new string('b', 300 * 1024);
        return new TheoryData<string, string, string, string?, string?, int>
        {
            // POST /queues
            { "create: malformed JSON", "POST", "/queues", """{"name":""", JsonType, 400 },
            { "create: truncated JSON", "POST", "/queues", """{"name":"trunc""", JsonType, 400 },
            { "create: not JSON", "POST", "/queues", "hello", JsonType, 400 },
            { "create: empty body", "POST", "/queues", "", JsonType, 400 },
            { "create: JSON null", "POST", "/queues", "null", JsonType, 400 },
            { "create: array", "POST", "/queues", "[]", JsonType, 400 },
            { "create: nested 10000 deep", "POST", "/queues", new string('[', 10_000) + new string(']', 10_000), JsonType, 400 },
            { "create: text/plain", "POST", "/queues", """{"name":"plain-text"}""", "text/plain", 415 },
            { "create: no content type", "POST", "/queues", """{"name":"no-type"}""", null, 415 },
            { "create: form", "POST", "/queues", "name=form-queue", "application/x-www-form-urlencoded", 415 },
            { "create: unknown charset", "POST", "/queues", """{"name":"bogus-charset"}""", "application/json; charset=bogus-42", 415 },
            { "create: name is a number", "POST", "/queues", """{"name":123}""", JsonType, 400 },
            { "create: name is an object", "POST", "/queues", """{"name":{"a":1}}""", JsonType, 400 },
            { "create: name missing", "POST", "/queues", "{}", JsonType, 400 },
            { "create: name twice", "POST", "/queues", """{"name":"first-name","name":"second-name"}""", JsonType, 400 },
            { "create: name empty", "POST", "/queues", """{"name":""}""", JsonType, 400 },
            { "create: name 100000 characters", "POST", "/queues", $$"""{"name":"{{longName}}"}""", JsonType, 400 },
            { "create: name is SQL", "POST", "/queues", $$"""{"name":"{{Sql}}"}""", JsonType, 400 },
            { "create: name all digits", "POST", "/queues", """{"name":"12345"}""", JsonType, 400 },
            { "create: name with control characters", "POST", "/queues", """{"name":"a\u0000\u0007b"}""", JsonType, 400 },
            { "create: raw control character", "POST", "/queues", "{\"name\":\"a\u0001b\"}", JsonType, 400 },
            { "create: name is a path", "POST", "/queues", """{"name":"../../etc/passwd"}""", JsonType, 400 },

            // POST /messages
            { "send: malformed JSON", "POST", "/messages", """{"queue_name":"q-1","body":""", JsonType, 400 },
            { "send: wrong content type", "POST", "/messages", """{"queue_name":"q-1","body":"x"}""", "text/plain", 415 },
            { "send: queue_id is a string", "POST", "/messages", """{"queue_id":"abc","body":"x"}""", JsonType, 400 },
            { "send: queue_id negative", "POST", "/messages", """{"queue_id":-1,"body":"x"}""", JsonType, 400 },
            { "send: queue_id zero", "POST", "/messages", """{"queue_id":0,"body":"x"}""", JsonType, 400 },
            { "send: queue_id past Int64", "POST", "/messages", $$"""{"queue_id":{{Huge}},"body":"x"}""", JsonType, 400 },
            { "send: queue_id 1e99", "POST", "/messages", """{"queue_id":1e99,"body":"x"}""", JsonType, 400 },
            { "send: queue_id fractional", "POST", "/messages", """{"queue_id":1.5,"body":"x"}""", JsonType, 400 },
            { "send: queue_id Int64 max, no such queue", "POST", "/messages", """{"queue_id":9223372036854775807,"body":"x"}""", JsonType, 404 },
            { "send: queue_name unknown", "POST", "/messages", """{"queue_name":"no-such-queue-here","body":"x"}""", JsonType, 404 },
            { "send: queue_name is SQL", "POST", "/messages", $$"""{"queue_name":"{{Sql}}","body":"x"}""", JsonType, 400 },
            { "send: no queue", "POST", "/messages", """{"body":"x"}""", JsonType, 400 },
            { "send: body is a number", "POST", "/messages", """{"queue_name":"q-1","body":42}""", JsonType, 400 },
            { "send: body is null", "POST", "/messages", """{"queue_name":"q-1","body":null}""", JsonType, 400 },
            { "send: body missing", "POST", "/messages", """{"queue_name":"q-1"}""", JsonType, 400 },
            { "send: body twice", "POST", "/messages", """{"queue_name":"q-1","body":"a","body":"b"}""", JsonType, 400 },
            { "send: body over the message limit", "POST", "/messages", $$"""{"queue_name":"q-1","body":"{{bigBody}}"}""", JsonType, 413 },
            { "send: truncated unicode escape", "POST", "/messages", """{"queue_name":"q-1","body":"\u12"}""", JsonType, 400 },

            // GET /queues/{queue}?size=
            { "peek: size zero", "GET", "/queues/some-queue?size=0", null, null, 400 },
            { "peek: size negative", "GET", "/queues/some-queue?size=-1", null, null, 400 },
            { "peek: size over the limit", "GET", "/queues/some-queue?size=101", null, null, 400 },
            { "peek: size not a number", "GET", "/queues/some-queue?size=abc", null, null, 400 },
            { "peek: size past Int64", "GET", $"/queues/some-queue?size={Huge}", null, null, 400 },
            { "peek: size 1e99", "GET", "/queues/some-queue?size=1e99", null, null, 400 },
            { "peek: size twice", "GET", "/queues/some-queue?size=1&size=2", null, null, AnyClientError },
            { "peek: unknown queue", "GET", "/queues/no-such-queue-here", null, null, 404 },
            { "peek: id zero", "GET", "/queues/0", null, null, 400 },
            { "peek: id past Int64", "GET", $"/queues/{Huge}", null, null, 400 },
            { "peek: id Int64 max", "GET", "/queues/9223372036854775807", null, null, 404 },
            { "peek: path traversal", "GET", "/queues/..%2F..%2Fetc%2Fpasswd", null, null, 400 },
            { "peek: SQL segment", "GET", $"/queues/{Uri.EscapeDataString(Sql)}", null, null, 400 },
            { "peek: invalid UTF-8 segment", "GET", "/queues/%C3%28", null, null, AnyClientError },
            { "peek: 5000 character segment", "GET", $"/queues/{new string('s', 5_000)}", null, null, 400 },

            // DELETE /queues/{queue}
            { "delete: unknown queue", "DELETE", "/queues/no-such-queue-here", null, null, 404 },
            { "delete: id zero", "DELETE", "/queues/0", null, null, 400 },
            { "delete: id past Int64", "DELETE", $"/queues/{Huge}", null, null, 400 },
            { "delete: path traversal", "DELETE", "/queues/..%2F..%2Fetc", null, null, 400 },
            { "delete: SQL segment", "DELETE", $"/queues/{Uri.EscapeDataString(Sql)}", null, null, 400 },
            { "delete: 5000 character segment", "DELETE", $"/queues/{new string('s', 5_000)}", null, null, 400 },

            // GET /queues, GET / and what is not the API
            { "list: unknown parameters", "GET", "/queues?size=abc&x=%00&y=" + Uri.EscapeDataString(Sql), null, null, SuccessOrClientError },
            { "list: with a body", "GET", "/queues", "{", JsonType, SuccessOrClientError },
            { "dashboard: traversal", "GET", "/%2e%2e/%2e%2e/etc/passwd", null, null, 404 },
            { "dashboard: encoded traversal of the app's files", "GET", "/..%2FProgram.cs", null, null, 404 },
            { "dashboard: no such file", "GET", "/nope.html", null, null, 404 },
            { "wrong method: PUT /queues", "PUT", "/queues", """{"name":"put-queue"}""", JsonType, 405 },
            { "wrong method: DELETE /queues", "DELETE", "/queues", null, null, 405 },
            { "wrong method: GET /messages", "GET", "/messages", null, null, 405 },
            { "wrong method: POST /queues/x", "POST", "/queues/x", "{}", JsonType, 405 },
        };
    }

    [Theory]
    [MemberData(nameof(Requests))]
    public Task Hostile_request_is_a_client_problem_and_the_DevTool_keeps_serving(
        string name, string method, string path, string? body, string? contentType, int expected) =>
        ShouldBeAClientProblemAsync(name, method, path, body, contentType, expected);

    [Theory]
    [InlineData("/queues", "{\"name\":\"a", "\"}")]
    [InlineData("/messages", "{\"queue_name\":\"q-1\",\"body\":\"a", "\"}")]
    public Task Invalid_UTF8_in_a_body_is_a_400(string path, string prefix, string suffix) =>
        InvalidUtf8ShouldBeA400Async(path, prefix, suffix);

    [Theory]
    [InlineData("/queues", false)]
    [InlineData("/messages", false)]
    [InlineData("/queues", true)]
    [InlineData("/messages", true)]
    public Task Body_over_the_request_limit_is_a_413_problem(string path, bool chunked) =>
        // A body made only of the fields the path takes, so that its length is all that is wrong.
        BodyOverTheRequestLimitShouldBeA413Async(path, chunked, path == "/queues" ? "{\"name\":\"" : "{\"queue_name\":\"q-1\",\"body\":\"");

    [Theory]
    [InlineData("/queues")]
    [InlineData("/queues/some-queue")]
    [InlineData("/queues/some-queue?size=5")]
    public Task Thousands_of_query_parameters_are_ignored_or_refused_never_a_5xx(string path) =>
        ThousandsOfQueryParametersShouldNeverBeA5xxAsync("GET", path);

    [Fact]
    public Task Thousands_of_repeats_of_size_are_a_client_problem() =>
        GetShouldBeAClientProblemAsync($"/queues/some-queue?{string.Join('&', Enumerable.Range(0, 1_000).Select(i => $"size={i % 10}"))}");

    [Fact]
    public Task Request_line_past_the_server_limit_is_a_4xx_without_a_leak() =>
        RawRequestShouldLeakNothingAsync(RawHttp.Get($"/queues?{QueryPastTheRequestLineLimit()}"), response => response.Status.Should().BeOneOf(414, 431, 400));

    [Theory]
    [InlineData("GET /queues/a%00b HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")]
    [InlineData("DELETE /queues/a\u0001b HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")]
    [InlineData("GARBAGE\r\n\r\n")]
    public Task Request_the_server_itself_refuses_is_a_4xx_without_a_leak(string head) =>
        // Kestrel answers these before any middleware runs, as it does for the broker.
        RawRequestShouldLeakNothingAsync(head, response => response.Status.Should().Be(400));

    [Fact]
    public async Task If_None_Match_past_ASCII_gets_the_full_answer_not_a_503_blaming_the_broker()
    {
        // Arrange: Kestrel takes a header value past ASCII, which HttpClient will not send on to the broker.
        using var client = Apps.CreateClient();
        var name = Json.UniqueQueueName("etag");
        using (var created = await client.PostAsJsonAsync("/queues", new { name }, WonderQJson.Options))
        {
            created.StatusCode.Should().Be(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        }

        var head = $"GET /queues/{name} HTTP/1.1\r\nHost: 127.0.0.1\r\nIf-None-Match: \"é\"\r\nConnection: close\r\n\r\n";

        // Act
        var response = await RawHttp.SendAsync(Apps.Url, head);

        // Assert
        response.Status.Should().Be(200, response.Body);
        response.Body.Should().Be("[]");
        response.Header("ETag").Should().NotBeNull();
    }

    [Fact]
    public async Task A_normal_dashboard_request_is_served()
    {
        // Arrange
        using var client = Apps.CreateClient();

        // Act
        using var response = await client.GetAsync("/");

        // Assert
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType?.MediaType.Should().Be("text/html");
    }

    [Fact]
    public async Task A_thousand_random_requests_get_no_5xx_and_every_4xx_is_problem_json()
    {
        // Arrange
        using var client = Apps.CreateClient();
        var name = Json.UniqueQueueName("fuzz");
        using var created = await client.PostAsJsonAsync("/queues", new { name }, WonderQJson.Options);
        created.StatusCode.Should().Be(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var id = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetInt64()
            .ToString(CultureInfo.InvariantCulture);
        var shape = new AppFuzzer.Shape(
            Routes:
            [
                ("GET", "/queues"), ("GET", "/queues/{seg}"), ("GET", "/queues/{seg}"), ("POST", "/queues"),
                ("POST", "/messages"), ("POST", "/messages"), ("DELETE", "/queues/{seg}"), ("GET", "/"),
                ("GET", "/index.html"), ("GET", "/app.js"), ("GET", "/%2e%2e/%2e%2e/etc/passwd"), ("GET", "/queues/{seg}/messages"),
            ],
            ParameterNames: ["size", "queue_id", "queue_name", "name", "body", "x", ""],
            FieldNames: ["name", "queue_id", "queue_name", "body"],
            FieldValue: (random, field) => field switch
            {
                "queue_id" => random.Next(2) == 0 ? id : "1",
                "queue_name" => JsonSerializer.Serialize(random.Next(2) == 0 ? name : $"fz-{random.Next(100)}"),
                "body" => JsonSerializer.Serialize($"fuzz {random.Next()}"),
                _ => null,
            },
            KnownValues: [name, id]);

        // Act and assert
        await RandomRequestsShouldGetNoServerErrorAsync(client, shape);
    }

    [Fact]
    public Task With_the_broker_down_the_DevTool_answers_503_problem_json_naming_the_broker() =>
        WithTheBrokerDownShouldNameItAsync(
            new ImpatientDevTool(),
            client => client.GetAsync("/queues"),
            client => client.PostAsJsonAsync("/queues", new { name = "while-down" }, WonderQJson.Options));

    protected override Task ShouldStillServeAsync(HttpClient client) => client.DevToolShouldStillServeAsync();

    /// <summary>One attempt with a short timeout, so a broker that is gone is reported at once.</summary>
    private sealed class ImpatientDevTool() : DevToolInFront([], FailFastBrokerClient);
}
