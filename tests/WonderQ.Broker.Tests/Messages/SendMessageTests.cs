using System.Net;
using System.Text;
using WonderQ.Shared.Contracts;

namespace WonderQ.Broker.Tests.Messages;

public class SendMessageTests(SharedBroker broker) : IClassFixture<SharedBroker>
{
    private const int MaxMessageBytes = 256 * 1024;
    private readonly HttpClient _client = broker.Client;

    [Fact]
    public async Task Send_by_queue_id_returns_201_with_the_message_id()
    {
        var queue = await _client.CreateQueueAsync();

        using var response = await _client.PostAsync("/messages", Wire.Json(new SendMessageRequest(queue.Id, null, "hello")));

        response.StatusCode.Should().Be(HttpStatusCode.Created);
        var json = await response.ReadJsonAsync();
        json.PropertyNames().Should().Equal("id");
        var peeked = await _client.PeekAsync(queue.Id);
        peeked.Should().ContainSingle().Which.Should().Match<MessageDto>(m =>
            m.Id == json.GetProperty("id").GetInt64() && m.Body == "hello" && m.QueueId == queue.Id);
    }

    [Fact]
    public async Task Send_by_queue_name_stores_the_message_in_that_queue()
    {
        var queue = await _client.CreateQueueAsync();

        using var response = await _client.PostAsync("/messages", Wire.Json($$"""{"queue_name":"{{queue.Name}}","body":"by name"}"""));

        response.StatusCode.Should().Be(HttpStatusCode.Created);
        (await _client.PeekAsync(queue.Id)).Should().ContainSingle().Which.Body.Should().Be("by name");
    }

    [Fact]
    public async Task Send_gives_increasing_ids()
    {
        var queue = await _client.CreateQueueAsync();

        var first = await _client.SendAsync(queue.Id, "first");
        var second = await _client.SendAsync(queue.Id, "second");

        second.Should().BeGreaterThan(first);
    }

    [Fact]
    public async Task Send_keeps_the_body_exactly()
    {
        var queue = await _client.CreateQueueAsync();
        // U+0000 too, which a JSON string may hold and PostgreSQL's text type cannot.
        const string Body = "<b>not html</b> \"quoted\" \\ émoji 🎉 \n tab\t nul\u0000 \u001f";

        await _client.SendAsync(queue.Id, Body);

        (await _client.PeekAsync(queue.Id)).Single().Body.Should().Be(Body);
    }

    [Theory]
    [InlineData(" ")]
    [InlineData("\n")]
    [InlineData("\t \r\n")]
    [InlineData("\u3000")]
    public async Task Send_keeps_a_body_of_only_whitespace(string body)
    {
        var queue = await _client.CreateQueueAsync();

        await _client.SendAsync(queue.Id, body);

        (await _client.PeekAsync(queue.Id)).Single().Body.Should().Be(body);
    }

    [Theory]
    [InlineData("""{"queue_id":1,"body":"a\ud800b"}""")]
    [InlineData("""{"queue_id":1,"body":"\udc00"}""")]
    public async Task Send_with_a_lone_surrogate_in_the_body_returns_400_saying_so(string json)
    {
        using var response = await _client.PostAsync("/messages", Wire.Json(json));

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        problem.GetProperty("detail").GetString().Should().Contain("not valid Unicode").And.Contain("$.body");
        problem.GetProperty("errors").GetProperty("body")[0].GetString().Should().Contain("lone surrogate");
    }

    [Theory]
    [InlineData("""{"queue_id":9223372036854775808,"body":"x"}""", "queue_id", "out of range")]
    [InlineData("""{"queue_id":1.5,"body":"x"}""", "queue_id", "out of range")]
    [InlineData("""{"queue_id":1e1,"body":"x"}""", "queue_id", "without a fraction or an exponent")]
    [InlineData("""{"queue_id":"1","body":"x"}""", "queue_id", "wrong JSON type")]
    [InlineData("""{"queue_id":1,"body":7}""", "body", "wrong JSON type")]
    [InlineData("""{"Queue_Id":"1","body":"x"}""", "queue_id", "wrong JSON type")]
    [InlineData("""{"QUEUE_NAME":7,"body":"x"}""", "queue_name", "wrong JSON type")]
    [InlineData("""{"queue_id":1,"Body":"\ud800"}""", "body", "lone surrogate")]
    public async Task Send_with_a_field_that_does_not_fit_is_a_validation_error_of_that_field_saying_whether_its_type_or_its_range_is_wrong(
        string json, string field, string said)
    {
        using var response = await _client.PostAsync("/messages", Wire.Json(json));

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        problem.GetProperty("detail").GetString().Should().Contain(said);
        problem.GetProperty("title").GetString().Should().Be("The request is not valid.", "it is well-formed JSON, with a field that does not fit, as a validator would find");
        problem.GetProperty("errors").EnumerateObject().Select(e => e.Name).Should().Equal(field);
        problem.GetProperty("errors").GetProperty(field)[0].GetString().Should().Contain(said);
    }

    [Theory]
    [InlineData("""{"queue_id":1,"body":"x" """, "not well-formed")]
    [InlineData("""{"queue_id":1,"queue_id":2,"body":"x"}""", "appears twice")]
    public async Task Send_with_a_body_the_parser_cannot_read_is_not_valid_json_and_names_no_field(string json, string said)
    {
        using var response = await _client.PostAsync("/messages", Wire.Json(json));

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        problem.GetProperty("title").GetString().Should().Be("The request body is not valid JSON.");
        problem.GetProperty("detail").GetString().Should().Contain(said);
        problem.TryGetProperty("errors", out _).Should().BeFalse();
    }

    [Fact]
    public async Task Send_with_json_nested_past_the_parsers_depth_in_a_field_it_does_not_take_names_that_field_not_that_it_is_malformed()
    {
        // Well-formed, but 65 levels deep, in a field the endpoint does not take: refused for its name before the parser
        // would descend into it (and stop at 64).
        var deep = new string('[', 64) + new string(']', 64);
        using var response = await _client.PostAsync("/messages", Wire.Json($$"""{"queue_id":1,"body":"x","deep":{{deep}}}"""));

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        problem.ErrorsFor("deep").Should().ContainSingle();
        problem.GetProperty("detail").GetString().Should().Contain("'deep' is not a field").And.NotContain("not well-formed");
    }

    [Fact]
    public async Task Send_with_invalid_UTF8_in_the_body_returns_400_saying_so()
    {
        using var content = new ByteArrayContent([.. "{\"queue_id\":1,\"body\":\""u8, 0xC3, 0x28, .. "\"}"u8]);
        content.Headers.ContentType = new("application/json");

        using var response = await _client.PostAsync("/messages", content);

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        problem.GetProperty("detail").GetString().Should().Contain("not valid Unicode");
        problem.GetProperty("title").GetString().Should().Be("The request body is not valid JSON.", "bytes that are not UTF-8 are no JSON text");
        problem.TryGetProperty("errors", out _).Should().BeFalse();
    }

    [Fact]
    public async Task Send_whose_json_starts_with_a_byte_order_mark_stores_the_body_without_it()
    {
        var queue = await _client.CreateQueueAsync();
        using var content = new ByteArrayContent([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes($$"""{"queue_id":{{queue.Id}},"body":"after a BOM"}""")]);
        content.Headers.ContentType = new("application/json");

        using var response = await _client.PostAsync("/messages", content);

        response.StatusCode.Should().Be(HttpStatusCode.Created);
        (await _client.PeekAsync(queue.Id)).Single().Body.Should().Be("after a BOM");
    }

    [Theory]
    [InlineData(100)]
    [InlineData(100_000)]
    public async Task Send_with_anything_after_its_json_object_returns_400_and_stores_nothing(int bodyLength)
    {
        // A body of 100,000 characters arrives in more than one of Kestrel's blocks, which are read whole and then
        // parsed: the parser must still see the end of the request.
        var queue = await _client.CreateQueueAsync();
        var json = $$"""{"queue_id":{{queue.Id}},"body":"{{new string('a', bodyLength)}}"} {}""";

        using var response = await _client.PostAsync("/messages", Wire.Json(json));

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        problem.GetProperty("title").GetString().Should().Be("The request body is not valid JSON.");
        problem.GetProperty("detail").GetString().Should().Contain($"byte {json.Length - 1}");
        (await _client.PeekAsync(queue.Id)).Should().BeEmpty();
    }

    [Fact]
    public async Task Send_without_a_request_body_returns_400_saying_the_body_is_missing()
    {
        using var content = new ByteArrayContent([]);
        content.Headers.ContentType = new("application/json");

        using var response = await _client.PostAsync("/messages", content);

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        problem.GetProperty("title").GetString().Should().Be("The request body is missing.");
    }

    [Theory]
    [InlineData("""{"queue_id":999999999,"body":"x"}""")]
    [InlineData("""{"queue_name":"no-such-queue-for-send","body":"x"}""")]
    public async Task Send_to_an_unknown_queue_returns_404(string json)
    {
        using var content = Wire.Json(json);

        using var response = await _client.PostAsync("/messages", content);

        await response.ShouldBeProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Send_with_an_id_and_a_name_of_different_queues_returns_404()
    {
        var one = await _client.CreateQueueAsync();
        var other = await _client.CreateQueueAsync();

        using var response = await _client.PostAsync("/messages", Wire.Json(new SendMessageRequest(one.Id, other.Name, "x")));

        await response.ShouldBeProblemAsync(HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("""{"body":"x"}""", "queue_id")]
    [InlineData("""{"queue_id":0,"body":"x"}""", "queue_id")]
    [InlineData("""{"queue_name":"12","body":"x"}""", "queue_name")]
    [InlineData("""{"queue_name":"bad name","body":"x"}""", "queue_name")]
    [InlineData("""{"queue_id":1}""", "body")]
    [InlineData("""{"queue_id":1,"body":null}""", "body")]
    [InlineData("""{"queue_id":1,"body":""}""", "body")]
    public async Task Send_with_invalid_fields_returns_400_keyed_by_wire_name(string json, string field)
    {
        using var content = Wire.Json(json);

        using var response = await _client.PostAsync("/messages", content);

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        problem.ErrorsFor(field).Should().NotBeEmpty();
    }

    [Theory]
    [InlineData("""{"queue_id":1,"body":42}""")]
    [InlineData("""{"queue_id":"1","body":"x"}""")]
    [InlineData("{\"queue_id\":1,\"body\":\"unterminated")]
    public async Task Send_with_malformed_json_returns_400(string json)
    {
        using var content = Wire.Json(json);

        using var response = await _client.PostAsync("/messages", content);

        await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Send_with_a_wrong_content_type_returns_415()
    {
        using var content = new StringContent("""{"queue_id":1,"body":"x"}""", Encoding.UTF8, "application/x-www-form-urlencoded");

        using var response = await _client.PostAsync("/messages", content);

        await response.ShouldBeProblemAsync(HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task Send_accepts_a_body_of_exactly_256_KiB()
    {
        var queue = await _client.CreateQueueAsync();
        var body = new string('a', MaxMessageBytes);

        var id = await _client.SendAsync(queue.Id, body);

        (await _client.PeekAsync(queue.Id)).Single().Should().Match<MessageDto>(m => m.Id == id && m.Body.Length == MaxMessageBytes);
    }

    [Fact]
    public async Task Send_with_a_body_one_byte_over_256_KiB_returns_413_naming_the_limit()
    {
        var queue = await _client.CreateQueueAsync();
        var body = new string('a', MaxMessageBytes + 1);

        using var response = await _client.PostAsync("/messages", Wire.Json(new SendMessageRequest(queue.Id, null, body)));

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        problem.GetProperty("detail").GetString().Should().Contain("262144");
        (await _client.PeekAsync(queue.Id)).Should().BeEmpty();
    }

    [Fact]
    public async Task Send_counts_the_body_in_UTF8_bytes_not_characters()
    {
        var queue = await _client.CreateQueueAsync();
        var body = new string('é', (MaxMessageBytes / 2) + 1);

        using var response = await _client.PostAsync("/messages", Wire.Json(new SendMessageRequest(queue.Id, null, body)));

        body.Length.Should().BeLessThan(MaxMessageBytes);
        Encoding.UTF8.GetByteCount(body).Should().BeGreaterThan(MaxMessageBytes);
        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        problem.GetProperty("detail").GetString().Should().Contain("262144");
    }

    [Fact]
    public async Task Send_counts_a_character_outside_the_BMP_as_the_four_bytes_UTF8_gives_it()
    {
        // Two UTF-16 units each, three UTF-8 bytes per unit were they counted one at a time: 384 KiB, refused.
        var queue = await _client.CreateQueueAsync();
        var body = string.Concat(Enumerable.Repeat("\U0001F642", MaxMessageBytes / 4));

        var id = await _client.SendAsync(queue.Id, body);

        (await _client.PeekAsync(queue.Id)).Single().Should().Match<MessageDto>(m => m.Id == id && m.Body == body);
        using var over = await _client.PostAsync("/messages", Wire.Json(new SendMessageRequest(queue.Id, null, body + "a")));
        (await over.ShouldBeProblemAsync(HttpStatusCode.RequestEntityTooLarge)).GetProperty("detail").GetString().Should().Contain("262145");
    }

    [Fact]
    public async Task Send_measures_the_decoded_body_not_its_json_escaping()
    {
        var queue = await _client.CreateQueueAsync();
        var escaped = string.Concat(Enumerable.Repeat("\\u0041", MaxMessageBytes));

        using var content = Wire.Json($$"""{"queue_id":{{queue.Id}},"body":"{{escaped}}"}""");
        using var response = await _client.PostAsync("/messages", content);

        response.StatusCode.Should().Be(HttpStatusCode.Created, "256 Ki 'A's are within the limit however long their escaping");
    }

    [Fact]
    public async Task Send_with_a_request_body_over_the_request_limit_returns_413_naming_it()
    {
        var queue = await _client.CreateQueueAsync();
        var body = new string('a', (2 * 1024 * 1024) + 1);

        using var response = await _client.PostAsync("/messages", Wire.Json(new SendMessageRequest(queue.Id, null, body)));

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        problem.GetProperty("detail").GetString().Should().Contain("2097152").And.Contain("MaxRequestBodyBytes");
    }
}

/// <summary>The same on PostgreSQL: the contract both stores keep.</summary>
public sealed class SendMessageOnPostgresTests(PostgresSharedBroker broker) : SendMessageTests(broker), IClassFixture<PostgresSharedBroker>;
