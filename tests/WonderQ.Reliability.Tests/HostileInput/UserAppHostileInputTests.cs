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
/// Every endpoint of the UserApp, running on Kestrel in front of a real broker, fed what a careless or hostile client
/// might send. Listen requests name queues that do not exist (or stop the loop they start), so no background loop
/// outlives its test.
/// </summary>
public sealed class UserAppHostileInputTests(UserAppInFront apps, ITestOutputHelper output)
    : FrontedAppHostileInputTests(apps, output), IClassFixture<UserAppInFront>
{
    public static TheoryData<string, string, string, string?, string?, int> Requests()
    {
        var longName = new string('q', 100_000);
        var bigBody = new string('b', 300 * 1024);
        return new TheoryData<string, string, string, string?, string?, int>
        {
            // POST /dispatch: the JSON itself
            { "dispatch: malformed JSON", "POST", "/dispatch", """{"queue_name":""", JsonType, 400 },
            { "dispatch: truncated JSON", "POST", "/dispatch", """{"queue_name":"trunc""", JsonType, 400 },
            { "dispatch: not JSON", "POST", "/dispatch", "hello", JsonType, 400 },
            { "dispatch: empty body", "POST", "/dispatch", "", JsonType, 400 },
            { "dispatch: JSON null", "POST", "/dispatch", "null", JsonType, 400 },
            { "dispatch: array", "POST", "/dispatch", "[]", JsonType, 400 },
            { "dispatch: trailing comma", "POST", "/dispatch", """{"queue_name":"a-queue",}""", JsonType, 400 },
            { "dispatch: nested 10000 deep", "POST", "/dispatch", new string('[', 10_000) + new string(']', 10_000), JsonType, 400 },
            { "dispatch: raw control character", "POST", "/dispatch", "{\"queue_name\":\"a\u0001b\"}", JsonType, 400 },

            // POST /dispatch: content types
            { "dispatch: text/plain", "POST", "/dispatch", """{"queue_name":"plain-text"}""", "text/plain", 415 },
            { "dispatch: no content type", "POST", "/dispatch", """{"queue_name":"no-type"}""", null, 415 },
            { "dispatch: form", "POST", "/dispatch", "queue_name=form-queue", "application/x-www-form-urlencoded", 415 },
            { "dispatch: xml", "POST", "/dispatch", "<queue_name>xml</queue_name>", "application/xml", 415 },
            { "dispatch: unknown charset", "POST", "/dispatch", """{"queue_name":"bogus-charset"}""", "application/json; charset=bogus-42", 415 },

            // POST /dispatch: fields
            { "dispatch: no queue", "POST", "/dispatch", """{"body":"x"}""", JsonType, 400 },
            { "dispatch: empty object", "POST", "/dispatch", "{}", JsonType, 400 },
            { "dispatch: queue_name is a number", "POST", "/dispatch", """{"queue_name":123}""", JsonType, 400 },
            { "dispatch: queue_name is an array", "POST", "/dispatch", """{"queue_name":["a"]}""", JsonType, 400 },
            { "dispatch: queue_name twice", "POST", "/dispatch", """{"queue_name":"first-name","queue_name":"second-name"}""", JsonType, 400 },
            { "dispatch: queue_name empty", "POST", "/dispatch", """{"queue_name":""}""", JsonType, 400 },
            { "dispatch: queue_name 100000 characters", "POST", "/dispatch", $$"""{"queue_name":"{{longName}}"}""", JsonType, 400 },
            { "dispatch: queue_name is SQL", "POST", "/dispatch", $$"""{"queue_name":"{{Sql}}"}""", JsonType, 400 },
            { "dispatch: queue_name all digits", "POST", "/dispatch", """{"queue_name":"12345"}""", JsonType, 400 },
            { "dispatch: queue_name with control characters", "POST", "/dispatch", """{"queue_name":"a\u0000\u001Bb"}""", JsonType, 400 },
            { "dispatch: queue_name is a path", "POST", "/dispatch", """{"queue_name":"../../etc/passwd"}""", JsonType, 400 },
            { "dispatch: queue_id is a string", "POST", "/dispatch", """{"queue_id":"abc"}""", JsonType, 400 },
            { "dispatch: queue_id negative", "POST", "/dispatch", """{"queue_id":-1}""", JsonType, 400 },
            { "dispatch: queue_id zero", "POST", "/dispatch", """{"queue_id":0}""", JsonType, 400 },
            { "dispatch: queue_id past Int64", "POST", "/dispatch", $$"""{"queue_id":{{Huge}}}""", JsonType, 400 },
            { "dispatch: queue_id 1e99", "POST", "/dispatch", """{"queue_id":1e99}""", JsonType, 400 },
            { "dispatch: queue_id fractional", "POST", "/dispatch", """{"queue_id":1.5}""", JsonType, 400 },
            { "dispatch: queue_id Int64 max, no such queue", "POST", "/dispatch", """{"queue_id":9223372036854775807}""", JsonType, 404 },
            { "dispatch: stub negative", "POST", "/dispatch", """{"queue_name":"stub-queue","stub":-1}""", JsonType, 400 },
            { "dispatch: stub zero", "POST", "/dispatch", """{"queue_name":"stub-queue","stub":0}""", JsonType, 400 },
            { "dispatch: stub over the limit", "POST", "/dispatch", """{"queue_name":"stub-queue","stub":10001}""", JsonType, 400 },
            { "dispatch: stub 1e99", "POST", "/dispatch", """{"queue_name":"stub-queue","stub":1e99}""", JsonType, 400 },
            { "dispatch: stub past Int32", "POST", "/dispatch", $$"""{"queue_name":"stub-queue","stub":{{Huge}}}""", JsonType, 400 },
            { "dispatch: stub not a number", "POST", "/dispatch", """{"queue_name":"stub-queue","stub":"abc"}""", JsonType, 400 },
            { "dispatch: stub fractional", "POST", "/dispatch", """{"queue_name":"stub-queue","stub":1.5}""", JsonType, 400 },
            { "dispatch: body is a number", "POST", "/dispatch", """{"queue_name":"body-queue","body":42}""", JsonType, 400 },
            { "dispatch: body is an object", "POST", "/dispatch", """{"queue_name":"body-queue","body":{"a":1}}""", JsonType, 400 },
            { "dispatch: body empty", "POST", "/dispatch", """{"queue_name":"body-queue","body":""}""", JsonType, 400 },
            { "dispatch: body twice", "POST", "/dispatch", """{"queue_name":"body-queue","body":"a","body":"b"}""", JsonType, 400 },
            { "dispatch: bad escape", "POST", "/dispatch", """{"queue_name":"body-queue","body":"\x41"}""", JsonType, 400 },
            { "dispatch: body over the message limit", "POST", "/dispatch", $$"""{"queue_name":"body-queue","body":"{{bigBody}}"}""", JsonType, 413 },

            // GET /listen (only queues that do not exist, or values refused before a loop starts)
            { "listen: no queue", "GET", "/listen", null, null, 400 },
            { "listen: queue_id not a number", "GET", "/listen?queue_id=abc", null, null, 400 },
            { "listen: queue_id zero", "GET", "/listen?queue_id=0", null, null, 400 },
            { "listen: queue_id negative", "GET", "/listen?queue_id=-1", null, null, 400 },
            { "listen: queue_id past Int64", "GET", $"/listen?queue_id={Huge}", null, null, 400 },
            { "listen: queue_id 1e99", "GET", "/listen?queue_id=1e99", null, null, 400 },
            { "listen: queue_id Int64 max", "GET", "/listen?queue_id=9223372036854775807", null, null, 404 },
            { "listen: queue_name unknown", "GET", "/listen?queue_name=no-such-queue-here", null, null, 404 },
            { "listen: queue_name is SQL", "GET", $"/listen?queue_name={Uri.EscapeDataString(Sql)}", null, null, 400 },
            { "listen: queue_name is a path", "GET", "/listen?queue_name=..%2F..%2Fetc%2Fpasswd", null, null, 400 },
            { "listen: queue_name with NUL", "GET", "/listen?queue_name=a%00b", null, null, 400 },
            { "listen: queue_name invalid UTF-8", "GET", "/listen?queue_name=%C3%28", null, null, 400 },
            { "listen: queue_name 5000 characters", "GET", $"/listen?queue_name={new string('n', 5_000)}", null, null, AnyClientError },
            { "listen: size zero", "GET", "/listen?queue_name=no-such-queue-here&size=0", null, null, 400 },
            { "listen: size over the limit", "GET", "/listen?queue_name=no-such-queue-here&size=101", null, null, 400 },
            { "listen: size not a number", "GET", "/listen?queue_name=no-such-queue-here&size=abc", null, null, 400 },
            { "listen: size past Int64", "GET", $"/listen?queue_name=no-such-queue-here&size={Huge}", null, null, 400 },
            { "listen: size with a NUL after it", "GET", "/listen?queue_name=no-such-queue-here&size=1%00", null, null, 400 },
            { "listen: wait_time negative", "GET", "/listen?queue_name=no-such-queue-here&wait_time=-1", null, null, 400 },
            { "listen: wait_time over the limit", "GET", "/listen?queue_name=no-such-queue-here&wait_time=21", null, null, 400 },
            { "listen: visibility_timeout over the limit", "GET", "/listen?queue_name=no-such-queue-here&visibility_timeout=43201", null, null, 400 },
            { "listen: visibility_timeout fractional", "GET", "/listen?queue_name=no-such-queue-here&visibility_timeout=1.5", null, null, 400 },
            { "listen: queue_id twice", "GET", "/listen?queue_id=9223372036854775807&queue_id=9223372036854775806", null, null, AnyClientError },

            // DELETE /listen
            { "stop: no queue", "DELETE", "/listen", null, null, 400 },
            { "stop: queue_id not a number", "DELETE", "/listen?queue_id=abc", null, null, 400 },
            { "stop: queue_id zero", "DELETE", "/listen?queue_id=0", null, null, 400 },
            { "stop: queue_id past Int64", "DELETE", $"/listen?queue_id={Huge}", null, null, 400 },
            { "stop: queue_id Int64 max", "DELETE", "/listen?queue_id=9223372036854775807", null, null, 404 },
            { "stop: queue_name unknown", "DELETE", "/listen?queue_name=no-such-queue-here", null, null, 404 },
            { "stop: queue_name is SQL", "DELETE", $"/listen?queue_name={Uri.EscapeDataString(Sql)}", null, null, 400 },
            { "stop: queue_name is a path", "DELETE", "/listen?queue_name=..%2F..%2Fetc", null, null, 400 },

            // GET /listeners and what is not the API
            { "listeners: unknown parameters", "GET", "/listeners?queue_id=abc&x=%00&y=" + Uri.EscapeDataString(Sql), null, null, SuccessOrClientError },
            { "listeners: with a body", "GET", "/listeners", "{", JsonType, SuccessOrClientError },
            { "wrong method: GET /dispatch", "GET", "/dispatch", null, null, 405 },
            { "wrong method: PUT /dispatch", "PUT", "/dispatch", """{"queue_name":"put-queue"}""", JsonType, 405 },
            { "wrong method: POST /listen", "POST", "/listen", "{}", JsonType, 405 },
            { "wrong method: DELETE /listeners", "DELETE", "/listeners", null, null, 405 },
            { "no such path", "GET", "/nope", null, null, 404 },
            { "no such path: traversal", "GET", "/%2e%2e/%2e%2e/etc/passwd", null, null, 404 },
            { "no such path: under dispatch", "POST", "/dispatch/..%2F..%2Fetc", "{}", JsonType, 404 },
            { "no such OpenAPI document", "GET", "/openapi/v2.json", null, null, 404 },
        };
    }

    [Theory]
    [MemberData(nameof(Requests))]
    public Task Hostile_request_is_a_client_problem_and_the_UserApp_keeps_serving(
        string name, string method, string path, string? body, string? contentType, int expected) =>
        ShouldBeAClientProblemAsync(name, method, path, body, contentType, expected);

    [Theory]
    [InlineData("{\"queue_name\":\"a", "\"}")]
    [InlineData("{\"queue_name\":\"utf8-queue\",\"body\":\"a", "\"}")]
    public Task Invalid_UTF8_in_a_dispatch_is_a_400(string prefix, string suffix) =>
        InvalidUtf8ShouldBeA400Async("/dispatch", prefix, suffix);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public Task Dispatch_over_the_request_limit_is_a_413_problem(bool chunked) =>
        BodyOverTheRequestLimitShouldBeA413Async("/dispatch", chunked, "{\"queue_name\":\"big-queue\",\"body\":\"");

    [Theory]
    [InlineData("GET", "/listeners")]
    [InlineData("GET", "/listen?queue_name=no-such-queue-here")]
    [InlineData("DELETE", "/listen?queue_name=no-such-queue-here")]
    public Task Thousands_of_query_parameters_are_ignored_or_refused_never_a_5xx(string method, string path) =>
        ThousandsOfQueryParametersShouldNeverBeA5xxAsync(method, path);

    [Theory]
    [InlineData("size")]
    [InlineData("queue_id")]
    public Task Hundreds_of_repeats_of_one_listen_parameter_are_a_client_problem(string parameter) =>
        // 600 repeats keep the request line under the server's 8 KB limit, so they reach the app.
        GetShouldBeAClientProblemAsync(
            $"/listen?queue_name=no-such-queue-here&{string.Join('&', Enumerable.Range(0, 600).Select(i => $"{parameter}={(i % 9) + 1}"))}");

    [Theory]
    [InlineData("GET /listen?queue_name=a%00b HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")]
    [InlineData("POST /dispatch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\nConnection: close\r\n\r\n")]
    [InlineData("GARBAGE\r\n\r\n")]
    public Task Request_the_server_refuses_or_the_app_answers_is_a_4xx_without_a_leak(string head) =>
        RawRequestShouldLeakNothingAsync(head, response => response.Status.Should().BeInRange(400, 499, response.Head));

    [Fact]
    public Task Request_line_past_the_server_limit_is_a_4xx_without_a_leak() =>
        RawRequestShouldLeakNothingAsync(RawHttp.Get($"/listeners?{QueryPastTheRequestLineLimit()}"), response => response.Status.Should().BeOneOf(414, 431, 400));

    [Fact]
    public async Task Listen_on_a_real_queue_starts_one_loop_that_stops_on_delete_and_a_second_delete_is_a_404()
    {
        // Arrange
        using var client = Apps.CreateClient();
        var name = Json.UniqueQueueName("listen");
        using (var dispatched = await client.PostAsJsonAsync("/dispatch", new { queue_name = name, body = "to be listened to" }, WonderQJson.Options))
        {
            dispatched.StatusCode.Should().Be(HttpStatusCode.OK, await dispatched.Content.ReadAsStringAsync());
        }

        // Act
        using var started = await client.GetAsync($"/listen?queue_name={name}&wait_time=1");
        using var again = await client.GetAsync($"/listen?queue_name={name}&wait_time=1");
        using var stopped = await client.DeleteAsync($"/listen?queue_name={name}");
        using var stoppedAgain = await client.DeleteAsync($"/listen?queue_name={name}");

        // Assert
        started.StatusCode.Should().Be(HttpStatusCode.Accepted, await started.Content.ReadAsStringAsync());
        again.StatusCode.Should().Be(HttpStatusCode.OK, await again.Content.ReadAsStringAsync());
        stopped.StatusCode.Should().Be(HttpStatusCode.OK, await stopped.Content.ReadAsStringAsync());
        await stoppedAgain.ShouldBeClientProblemAsync(HttpStatusCode.NotFound);
        using var listeners = await client.GetAsync("/listeners");
        var list = JsonDocument.Parse(await listeners.Content.ReadAsStringAsync()).RootElement;
        list.EnumerateArray().Should().NotContain(l => l.GetProperty("queue").GetProperty("name").GetString() == name);
    }

    [Fact]
    public async Task A_thousand_random_requests_get_no_5xx_and_every_4xx_is_problem_json()
    {
        // Arrange
        using var client = Apps.CreateClient();
        var name = Json.UniqueQueueName("fuzz");
        using var dispatched = await client.PostAsJsonAsync("/dispatch", new { queue_name = name, body = "seed" }, WonderQJson.Options);
        var text = await dispatched.Content.ReadAsStringAsync();
        dispatched.StatusCode.Should().Be(HttpStatusCode.OK, text);
        var id = JsonDocument.Parse(text).RootElement.GetProperty("queue").GetProperty("id").GetInt64().ToString(CultureInfo.InvariantCulture);
        var shape = new AppFuzzer.Shape(
            Routes:
            [
                ("POST", "/dispatch"), ("POST", "/dispatch"), ("POST", "/dispatch"), ("GET", "/listen"), ("GET", "/listen"),
                ("DELETE", "/listen"), ("GET", "/listeners"), ("GET", "/openapi/v1.json"), ("GET", "/"),
                ("POST", "/dispatch/{seg}"), ("GET", "/listen/{seg}"), ("GET", "/%2e%2e/%2e%2e/etc/passwd"),
            ],
            ParameterNames: ["queue_id", "queue_name", "size", "wait_time", "visibility_timeout", "stub", "body", "x", ""],
            FieldNames: ["queue_id", "queue_name", "body", "stub"],
            FieldValue: (random, field) => field switch
            {
                "queue_id" => random.Next(2) == 0 ? id : "1",
                "queue_name" => JsonSerializer.Serialize(random.Next(2) == 0 ? name : $"fz-{random.Next(100)}"),
                "body" => JsonSerializer.Serialize($"fuzz {random.Next()}"),
                // Small valid stubs only: a generated stub of 10,000 would turn one request into a load test.
                "stub" => random.Next(1, 4).ToString(CultureInfo.InvariantCulture),
                _ => null,
            },
            KnownValues: [name, id]);

        try
        {
            // Act and assert
            await RandomRequestsShouldGetNoServerErrorAsync(client, shape);
        }
        finally
        {
            // The generated listens on real queues started loops: stop them, so the next test starts clean.
            await StopAllListenersAsync(client);
        }
    }

    [Fact]
    public Task With_the_broker_down_the_UserApp_answers_503_problem_json_naming_the_broker() =>
        WithTheBrokerDownShouldNameItAsync(
            new ImpatientUserApp(),
            client => client.PostAsJsonAsync("/dispatch", new { queue_name = "while-down", body = "x" }, WonderQJson.Options),
            client => client.GetAsync("/listen?queue_name=while-down"));

    protected override Task ShouldStillServeAsync(HttpClient client) => client.UserAppShouldStillServeAsync();

    private static async Task StopAllListenersAsync(HttpClient client)
    {
        using var listeners = await client.GetAsync("/listeners");
        foreach (var listener in JsonDocument.Parse(await listeners.Content.ReadAsStringAsync()).RootElement.EnumerateArray())
        {
            var queueId = listener.GetProperty("queue").GetProperty("id").GetInt64();
            using var stopped = await client.DeleteAsync($"/listen?queue_id={queueId}");
        }

        using var after = await client.GetAsync("/listeners");
        JsonDocument.Parse(await after.Content.ReadAsStringAsync()).RootElement.GetArrayLength().Should().Be(0);
    }

    /// <summary>One attempt with a short timeout, so a broker that is gone is reported at once.</summary>
    private sealed class ImpatientUserApp() : UserAppInFront([], FailFastBrokerClient);
}
