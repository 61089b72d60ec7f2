using WonderQ.Reliability.Tests.Support;
using static WonderQ.Reliability.Tests.Support.HostileRequests;

namespace WonderQ.Reliability.Tests.HostileInput;

/// <summary>
/// Every endpoint fed what a careless or hostile client might send. The answer is always a 4xx problem+json that
/// says what was wrong and nothing of the broker's insides, and the broker goes on serving.
/// </summary>
public sealed class MalformedRequestTests(BrokerFactory factory) : IClassFixture<BrokerFactory>
{
    public static TheoryData<string, string, string, string?, string?, int> Requests()
    {
        var longName = new string('q', 100_000);
        var deep = new string('[', 10_000) + new string(']', 10_000);
        var data = new TheoryData<string, string, string, string?, string?, int>
        {
            // POST /queues: the JSON itself
            { "create: malformed JSON", "POST", "/queues", """{"name":""", "application/json", 400 },
            { "create: truncated JSON", "POST", "/queues", """{"name":"truncated""", "application/json", 400 },
            { "create: not JSON at all", "POST", "/queues", "hello", "application/json", 400 },
            { "create: empty body", "POST", "/queues", "", "application/json", 400 },
            { "create: JSON null", "POST", "/queues", "null", "application/json", 400 },
            { "create: array instead of object", "POST", "/queues", "[]", "application/json", 400 },
            { "create: string instead of object", "POST", "/queues", "\"a-queue\"", "application/json", 400 },
            { "create: trailing comma", "POST", "/queues", """{"name":"a-queue",}""", "application/json", 400 },
            { "create: comment", "POST", "/queues", """{"name":"a-queue"/* hi */}""", "application/json", 400 },
            { "create: single quotes", "POST", "/queues", "{'name':'a-queue'}", "application/json", 400 },
            { "create: NaN", "POST", "/queues", """{"name":NaN}""", "application/json", 400 },
            { "create: nested 10000 deep", "POST", "/queues", deep, "application/json", 400 },
            { "create: raw control character in string", "POST", "/queues", "{\"name\":\"a\u0001b\"}", "application/json", 400 },

            // POST /queues: content types
            { "create: text/plain", "POST", "/queues", """{"name":"plain-text"}""", "text/plain", 415 },
            { "create: no content type", "POST", "/queues", """{"name":"no-type"}""", null, 415 },
            { "create: form", "POST", "/queues", "name=form-queue", "application/x-www-form-urlencoded", 415 },
            { "create: xml", "POST", "/queues", "<name>xml</name>", "application/xml", 415 },
            { "create: unknown charset", "POST", "/queues", """{"name":"bogus-charset"}""", "application/json; charset=bogus-42", 415 },
            { "create: UTF-7, named but not decoded", "POST", "/queues", """{"name":"utf7-charset"}""", "application/json; charset=utf-7", 415 },
            { "create: empty charset", "POST", "/queues", """{"name":"empty-charset"}""", "application/json;charset=", 415 },
            { "create: quoted unknown charset", "POST", "/queues", """{"name":"quoted-charset"}""", "application/json; charset=\"bogus\"", 415 },
            { "create: a charset other than UTF-8", "POST", "/queues", """{"name":"latin1-charset"}""", "application/json; charset=iso-8859-1", 415 },

            // POST /queues: fields
            { "create: name is a number", "POST", "/queues", """{"name":123}""", "application/json", 400 },
            { "create: name is a boolean", "POST", "/queues", """{"name":true}""", "application/json", 400 },
            { "create: name is an array", "POST", "/queues", """{"name":["a"]}""", "application/json", 400 },
            { "create: name is an object", "POST", "/queues", """{"name":{"a":1}}""", "application/json", 400 },
            { "create: name is null", "POST", "/queues", """{"name":null}""", "application/json", 400 },
            { "create: name missing", "POST", "/queues", "{}", "application/json", 400 },
            { "create: name twice", "POST", "/queues", """{"name":"first-name","name":"second-name"}""", "application/json", 400 },
            { "create: name empty", "POST", "/queues", """{"name":""}""", "application/json", 400 },
            { "create: name 81 characters", "POST", "/queues", $$"""{"name":"{{new string('n', 81)}}"}""", "application/json", 400 },
            { "create: name 100000 characters", "POST", "/queues", $$"""{"name":"{{longName}}"}""", "application/json", 400 },
            { "create: name is SQL", "POST", "/queues", $$"""{"name":"{{Sql}}"}""", "application/json", 400 },
            { "create: name all digits", "POST", "/queues", """{"name":"12345"}""", "application/json", 400 },
            { "create: name with NUL", "POST", "/queues", """{"name":"\u0000abc"}""", "application/json", 400 },
            { "create: name with newline", "POST", "/queues", """{"name":"a\nb"}""", "application/json", 400 },
            { "create: name is a path", "POST", "/queues", """{"name":"../../etc/passwd"}""", "application/json", 400 },
            { "create: name not ASCII", "POST", "/queues", """{"name":"ñame"}""", "application/json", 400 },

            // POST /messages
            { "send: queue_id is a string", "POST", "/messages", """{"queue_id":"abc","body":"x"}""", "application/json", 400 },
            { "send: queue_id is a numeric string", "POST", "/messages", """{"queue_id":"1","body":"x"}""", "application/json", 400 },
            { "send: queue_id negative", "POST", "/messages", """{"queue_id":-1,"body":"x"}""", "application/json", 400 },
            { "send: queue_id zero", "POST", "/messages", """{"queue_id":0,"body":"x"}""", "application/json", 400 },
            { "send: queue_id past Int64", "POST", "/messages", $$"""{"queue_id":{{Huge}},"body":"x"}""", "application/json", 400 },
            { "send: queue_id below Int64", "POST", "/messages", $$"""{"queue_id":-{{Huge}},"body":"x"}""", "application/json", 400 },
            { "send: queue_id fractional", "POST", "/messages", """{"queue_id":1.5,"body":"x"}""", "application/json", 400 },
            { "send: queue_id exponent", "POST", "/messages", """{"queue_id":1e3,"body":"x"}""", "application/json", 400 },
            { "send: queue_id Int64 max, no such queue", "POST", "/messages", """{"queue_id":9223372036854775807,"body":"x"}""", "application/json", 404 },
            { "send: queue_name unknown", "POST", "/messages", """{"queue_name":"no-such-queue-here","body":"x"}""", "application/json", 404 },
            { "send: queue_name is SQL", "POST", "/messages", $$"""{"queue_name":"{{Sql}}","body":"x"}""", "application/json", 400 },
            { "send: no queue", "POST", "/messages", """{"body":"x"}""", "application/json", 400 },
            { "send: body is a number", "POST", "/messages", """{"queue_name":"q-1","body":42}""", "application/json", 400 },
            { "send: body is null", "POST", "/messages", """{"queue_name":"q-1","body":null}""", "application/json", 400 },
            { "send: body is an object", "POST", "/messages", """{"queue_name":"q-1","body":{"a":1}}""", "application/json", 400 },
            { "send: body is an array", "POST", "/messages", """{"queue_name":"q-1","body":["a"]}""", "application/json", 400 },
            { "send: body is a boolean", "POST", "/messages", """{"queue_name":"q-1","body":false}""", "application/json", 400 },
            { "send: body empty", "POST", "/messages", """{"queue_name":"q-1","body":""}""", "application/json", 400 },
            { "send: body missing", "POST", "/messages", """{"queue_name":"q-1"}""", "application/json", 400 },
            { "send: body twice", "POST", "/messages", """{"queue_name":"q-1","body":"a","body":"b"}""", "application/json", 400 },
            { "send: bad escape", "POST", "/messages", """{"queue_name":"q-1","body":"\x41"}""", "application/json", 400 },
            { "send: truncated unicode escape", "POST", "/messages", """{"queue_name":"q-1","body":"\u12"}""", "application/json", 400 },
            { "send: wrong content type", "POST", "/messages", """{"queue_name":"q-1","body":"x"}""", "text/plain", 415 },

            // GET /queues/find
            { "find: neither id nor name", "GET", "/queues/find", null, null, 400 },
            { "find: id not a number", "GET", "/queues/find?id=abc", null, null, 400 },
            { "find: id negative", "GET", "/queues/find?id=-1", null, null, 400 },
            { "find: id zero", "GET", "/queues/find?id=0", null, null, 400 },
            { "find: id past Int64", "GET", $"/queues/find?id={Huge}", null, null, 400 },
            { "find: id fractional", "GET", "/queues/find?id=1.5", null, null, 400 },
            { "find: id with a NUL after it", "GET", "/queues/find?id=1%00", null, null, 400 },
            // Either reading is defensible (an empty id read as absent); what matters is no 5xx and no leak.
            { "find: id empty", "GET", "/queues/find?id=", null, null, SuccessOrClientError },
            { "find: id twice", "GET", "/queues/find?id=1&id=2", null, null, 400 },
            { "find: id twice, named in two cases", "GET", "/queues/find?id=1&ID=1", null, null, 400 },
            { "find: name is SQL", "GET", $"/queues/find?name={Uri.EscapeDataString(Sql)}", null, null, 400 },
            { "find: name 10000 characters", "GET", $"/queues/find?name={new string('n', 10_000)}", null, null, 400 },
            { "find: name empty", "GET", "/queues/find?name=", null, null, 400 },

            // GET /queues/{queue}/messages
            { "peek: size zero", "GET", "/queues/some-queue/messages?size=0", null, null, 400 },
            { "peek: size negative", "GET", "/queues/some-queue/messages?size=-1", null, null, 400 },
            { "peek: size over the limit", "GET", "/queues/some-queue/messages?size=101", null, null, 400 },
            { "peek: size not a number", "GET", "/queues/some-queue/messages?size=abc", null, null, 400 },
            { "peek: size past Int64", "GET", $"/queues/some-queue/messages?size={Huge}", null, null, 400 },
            { "peek: size exponent", "GET", "/queues/some-queue/messages?size=1e2", null, null, 400 },
            { "peek: size with a NUL after it", "GET", "/queues/some-queue/messages?size=1%00", null, null, 400 },
            { "peek: path traversal", "GET", "/queues/..%2F..%2Fetc/messages", null, null, 400 },
            { "peek: SQL segment", "GET", $"/queues/{Uri.EscapeDataString(Sql)}/messages", null, null, 400 },
            { "peek: id past Int64", "GET", $"/queues/{Huge}/messages", null, null, 400 },
            { "peek: 5000 character segment", "GET", $"/queues/{new string('s', 5_000)}/messages", null, null, 400 },

            // DELETE /queues/{queue}
            { "delete queue: path traversal", "DELETE", "/queues/..%2F..%2Fetc", null, null, 400 },
            { "delete queue: SQL segment", "DELETE", $"/queues/{Uri.EscapeDataString(Sql)}", null, null, 400 },
            { "delete queue: id past Int64", "DELETE", $"/queues/{Huge}", null, null, 400 },
            { "delete queue: id zero", "DELETE", "/queues/0", null, null, 400 },

            // GET /messages/consume
            { "consume: no queue", "GET", "/messages/consume?wait_time=0", null, null, 400 },
            { "consume: queue_id not a number", "GET", "/messages/consume?queue_id=abc&wait_time=0", null, null, 400 },
            { "consume: queue_id zero", "GET", "/messages/consume?queue_id=0&wait_time=0", null, null, 400 },
            { "consume: queue_id past Int64", "GET", $"/messages/consume?queue_id={Huge}&wait_time=0", null, null, 400 },
            { "consume: queue_id Int64 max", "GET", "/messages/consume?queue_id=9223372036854775807&wait_time=0", null, null, 404 },
            { "consume: queue_name is SQL", "GET", $"/messages/consume?queue_name={Uri.EscapeDataString(Sql)}&wait_time=0", null, null, 400 },
            { "consume: queue_name unknown", "GET", "/messages/consume?queue_name=no-such-queue-here&wait_time=0", null, null, 404 },
            { "consume: size zero", "GET", "/messages/consume?queue_name=q-1&size=0&wait_time=0", null, null, 400 },
            { "consume: size over the limit", "GET", "/messages/consume?queue_name=q-1&size=101&wait_time=0", null, null, 400 },
            { "consume: size fractional", "GET", "/messages/consume?queue_name=q-1&size=1.5&wait_time=0", null, null, 400 },
            { "consume: wait_time with a NUL after it", "GET", "/messages/consume?queue_name=q-1&wait_time=0%00", null, null, 400 },
            { "consume: size past Int64", "GET", $"/messages/consume?queue_name=q-1&size={Huge}&wait_time=0", null, null, 400 },
            { "consume: wait_time negative", "GET", "/messages/consume?queue_name=q-1&wait_time=-1", null, null, 400 },
            { "consume: wait_time over the limit", "GET", "/messages/consume?queue_name=q-1&wait_time=21", null, null, 400 },
            { "consume: wait_time not a number", "GET", "/messages/consume?queue_name=q-1&wait_time=soon", null, null, 400 },
            { "consume: visibility_timeout negative", "GET", "/messages/consume?queue_name=q-1&wait_time=0&visibility_timeout=-1", null, null, 400 },
            { "consume: visibility_timeout over the limit", "GET", "/messages/consume?queue_name=q-1&wait_time=0&visibility_timeout=43201", null, null, 400 },
            { "consume: visibility_timeout past Int64", "GET", $"/messages/consume?queue_name=q-1&wait_time=0&visibility_timeout={Huge}", null, null, 400 },
            { "consume: size twice", "GET", "/messages/consume?queue_name=q-1&size=1&size=2&wait_time=0", null, null, 400 },

            // DELETE /messages/{id}
            { "delete message: id not a number", "DELETE", "/messages/abc", null, null, 400 },
            { "delete message: id zero", "DELETE", "/messages/0", null, null, 400 },
            { "delete message: id negative", "DELETE", "/messages/-1", null, null, 400 },
            { "delete message: id past Int64", "DELETE", $"/messages/{Huge}", null, null, 400 },
            { "delete message: id fractional", "DELETE", "/messages/1.5", null, null, 400 },
            { "delete message: id Int64 max", "DELETE", "/messages/9223372036854775807", null, null, 404 },
            { "delete message: long token", "DELETE", $"/messages/9223372036854775807?reservation_token={new string('t', 5_000)}", null, null, 404 },
            { "delete message: SQL token", "DELETE", $"/messages/9223372036854775807?reservation_token={Uri.EscapeDataString(Sql)}", null, null, 404 },

            // Methods and paths that are not the API
            { "wrong method: PUT /queues", "PUT", "/queues", """{"name":"put-queue"}""", "application/json", 405 },
            { "wrong method: DELETE /queues", "DELETE", "/queues", null, null, 405 },
            { "wrong method: GET /messages", "GET", "/messages", null, null, 405 },
            { "wrong method: POST /messages/consume", "POST", "/messages/consume", "{}", "application/json", 405 },
            { "wrong method: PATCH /messages/1", "PATCH", "/messages/1", "{}", "application/json", 405 },
            { "wrong method: POST /healthz", "POST", "/healthz", "{}", "application/json", 405 },
            { "no such path", "GET", "/nope", null, null, 404 },
            { "no such path: traversal", "GET", "/queues/..%2F..%2Fetc%2Fpasswd", null, null, 405 },
        };
        return data;
    }

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task Hostile_request_is_answered_with_a_client_problem_and_the_broker_keeps_serving(
        string name, string method, string path, string? body, string? contentType, int expected)
    {
        // Arrange
        using var client = factory.CreateClient();

        // Act and assert
        await SendAndCheckAsync(client, name, method, path, body, contentType, expected);
        await client.ShouldStillServeAsync();
    }
}
