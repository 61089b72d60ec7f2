using System.Net;
using System.Text.RegularExpressions;
using WonderQ.Shared.Contracts;

namespace WonderQ.Broker.Tests.Queues;

public partial class QueuesApiTests(SharedBroker broker) : IClassFixture<SharedBroker>
{
    private readonly HttpClient _client = broker.Client;

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")]
    private static partial Regex UtcMilliseconds();

    [Fact]
    public async Task Create_returns_201_with_the_queue_in_snake_case()
    {
        var name = Wire.UniqueQueueName("create");

        using var response = await _client.PostAsync("/queues", Wire.Json("""{"name":"NAME"}""".Replace("NAME", name, StringComparison.Ordinal)));

        response.StatusCode.Should().Be(HttpStatusCode.Created);
        var queue = await response.ReadJsonAsync();
        queue.PropertyNames().Should().BeEquivalentTo("id", "name", "created_at");
        queue.GetProperty("id").GetInt64().Should().BePositive();
        queue.GetProperty("name").GetString().Should().Be(name);
        queue.GetProperty("created_at").GetString().Should().MatchRegex(UtcMilliseconds());
        response.Headers.Location!.ToString().Should().Be($"/queues/find?id={queue.GetProperty("id").GetInt64()}");
    }

    [Theory]
    [InlineData("a")]
    [InlineData("Orders_2026-eu")]
    [InlineData("1a")]
    [InlineData("_")]
    public async Task Create_accepts_names_of_letters_digits_underscore_and_hyphen(string prefix)
    {
        var name = prefix + Guid.NewGuid().ToString("N")[..8];

        var queue = await _client.CreateQueueAsync(name);

        queue.Name.Should().Be(name);
    }

    [Fact]
    public async Task Create_accepts_a_name_of_exactly_80_characters()
    {
        var name = Guid.NewGuid().ToString("N") + new string('x', 48);

        var queue = await _client.CreateQueueAsync(name);

        queue.Name.Should().HaveLength(80);
    }

    [Theory]
    [InlineData("81 characters", 81)]
    [InlineData("empty", 0)]
    public async Task Create_rejects_a_name_outside_1_to_80_characters_naming_the_limit(string _, int length)
    {
        var name = new string('n', length);

        using var response = await _client.PostAsync("/queues", Wire.Json(new CreateQueueRequest(name)));

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        problem.ErrorsFor("name").Should().ContainSingle().Which.Should().Contain("1 to 80");
    }

    [Theory]
    [InlineData("12345", "all digits")]
    [InlineData("has space", "only the letters")]
    [InlineData("dot.ted", "only the letters")]
    [InlineData("slash/ed", "only the letters")]
    [InlineData("é-accent", "only the letters")]
    public async Task Create_rejects_a_badly_formed_name(string name, string reason)
    {
        var request = new CreateQueueRequest(name);

        using var response = await _client.PostAsync("/queues", Wire.Json(request));

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        problem.ErrorsFor("name").Should().Contain(m => m.Contains(reason, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(41, 0)]
    [InlineData(1, 79)]
    public async Task Create_with_a_name_of_emoji_within_80_characters_is_refused_for_its_characters_not_its_length(int emoji, int letters)
    {
        // Each emoji is one character in two UTF-16 units: 41 of them, or 79 letters and one, are 82 and 81 units.
        var name = new string('x', letters) + string.Concat(Enumerable.Repeat("\U0001F600", emoji));

        using var response = await _client.PostAsync("/queues", Wire.Json(new CreateQueueRequest(name)));

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        problem.ErrorsFor("name").Should().ContainSingle().Which.Should().Contain("only the letters");
    }

    [Fact]
    public async Task Create_without_a_name_returns_400()
    {
        using var response = await _client.PostAsync("/queues", Wire.Json("{}"));

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        problem.ErrorsFor("name").Should().Contain("'name' is required.");
    }

    [Fact]
    public async Task Create_with_a_duplicate_name_returns_409()
    {
        var existing = await _client.CreateQueueAsync();

        using var response = await _client.PostAsync("/queues", Wire.Json(new CreateQueueRequest(existing.Name)));

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.Conflict);
        problem.GetProperty("detail").GetString().Should().Contain(existing.Name);
        problem.GetProperty("type").GetString().Should().Be("https://tools.ietf.org/html/rfc9110#section-15.5.10");
    }

    [Fact]
    public async Task A_create_refused_for_a_taken_name_uses_up_no_id()
    {
        var existing = await _client.CreateQueueAsync();
        using (await _client.PostAsync("/queues", Wire.Json(new CreateQueueRequest(existing.Name))))
        {
        }

        var next = await _client.CreateQueueAsync();

        next.Id.Should().Be(existing.Id + 1, "the 409 stored nothing, on either store");
    }

    [Fact]
    public async Task Names_differing_only_in_case_are_two_queues()
    {
        // docs/api.md says so, beside the parameter names that match without regard to case.
        var lower = await _client.CreateQueueAsync(Wire.UniqueQueueName("case"));
        var upper = await _client.CreateQueueAsync(lower.Name.ToUpperInvariant());
        await _client.SendAsync(upper.Id, "for the upper-case queue");

        using var mixed = await _client.GetAsync($"/queues/find?name={lower.Name[..1].ToUpperInvariant()}{lower.Name[1..]}");
        using var byLowerName = await _client.GetAsync($"/messages/consume?queue_name={lower.Name}&wait_time=0");

        upper.Id.Should().NotBe(lower.Id);
        await mixed.ShouldBeProblemAsync(HttpStatusCode.NotFound);
        (await byLowerName.ReadAsync<MessageDto[]>()).Should().BeEmpty();
    }

    [Theory]
    [InlineData("{\"name\": ")]
    [InlineData("not json")]
    [InlineData("{\"name\": \"a\", \"name\": \"b\"}")]
    [InlineData("{\"name\": 42}")]
    public async Task Create_with_malformed_json_returns_400(string body)
    {
        using var content = Wire.Json(body);

        using var response = await _client.PostAsync("/queues", content);

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        problem.GetProperty("detail").GetString().Should().NotContain("System.", "the detail is not an internal exception message");
    }

    [Fact]
    public async Task Create_with_an_empty_body_returns_400()
    {
        using var content = new ByteArrayContent([]);
        content.Headers.ContentType = new("application/json");

        using var response = await _client.PostAsync("/queues", content);

        await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Create_with_a_wrong_content_type_returns_415()
    {
        using var content = new StringContent("""{"name":"plain"}""", System.Text.Encoding.UTF8, "text/plain");

        using var response = await _client.PostAsync("/queues", content);

        await response.ShouldBeProblemAsync(HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task Find_by_id_returns_the_queue()
    {
        var queue = await _client.CreateQueueAsync();

        using var response = await _client.GetAsync($"/queues/find?id={queue.Id}");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.ReadAsync<QueueDto>()).Should().Be(queue);
    }

    [Fact]
    public async Task Find_by_name_returns_the_queue()
    {
        var queue = await _client.CreateQueueAsync();

        using var response = await _client.GetAsync($"/queues/find?name={queue.Name}");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var json = await response.ReadJsonAsync();
        json.PropertyNames().Should().BeEquivalentTo("id", "name", "created_at");
        (await response.ReadAsync<QueueDto>()).Should().Be(queue);
    }

    [Fact]
    public async Task Find_with_an_id_and_a_name_finds_the_queue_only_when_both_are_its_own()
    {
        var queue = await _client.CreateQueueAsync();
        var other = await _client.CreateQueueAsync();

        using var both = await _client.GetAsync($"/queues/find?id={queue.Id}&name={queue.Name}");
        using var mismatched = await _client.GetAsync($"/queues/find?id={queue.Id}&name={other.Name}");

        both.StatusCode.Should().Be(HttpStatusCode.OK);
        (await both.ReadAsync<QueueDto>()).Should().Be(queue);
        await mismatched.ShouldBeProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Find_with_neither_id_nor_name_returns_400()
    {
        using var response = await _client.GetAsync("/queues/find");

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        problem.GetProperty("detail").GetString().Should().Contain("'id' or 'name'");
        problem.ErrorsFor("id").Should().ContainSingle("a missing field is a validation failure like any other");
    }

    [Theory]
    [InlineData("name=")]
    [InlineData("name=a%20b")]
    [InlineData("name=12345")]
    [InlineData("id=1&name=")]
    public async Task Find_with_a_name_no_queue_can_have_returns_400_keyed_name(string query)
    {
        using var response = await _client.GetAsync($"/queues/find?{query}");

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        problem.ErrorsFor("name").Should().NotBeEmpty();
    }

    [Theory]
    [InlineData("id=999999999")]
    [InlineData("name=no-such-queue-anywhere")]
    public async Task Find_an_unknown_queue_returns_404(string query)
    {
        using var response = await _client.GetAsync($"/queues/find?{query}");

        await response.ShouldBeProblemAsync(HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("id=1&id=1")]
    [InlineData("ID=1&id=1")]
    public async Task Find_with_the_id_given_twice_returns_400_keyed_id_saying_so(string query)
    {
        var queue = await _client.CreateQueueAsync();

        using var response = await _client.GetAsync($"/queues/find?{query.Replace("1", queue.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)}");

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        problem.ErrorsFor("id").Should().ContainSingle().Which.Should().Contain("given 2 times");
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("0")]
    [InlineData("-3")]
    public async Task Find_with_an_id_that_is_not_a_positive_integer_returns_400(string id)
    {
        using var response = await _client.GetAsync($"/queues/find?id={id}");

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        problem.ErrorsFor("id").Should().NotBeEmpty();
    }

    [Fact]
    public async Task Find_with_both_a_bad_id_and_a_bad_name_says_both_in_one_answer_as_a_consume_does()
    {
        using var find = await _client.GetAsync("/queues/find?id=abc&name=a.b");
        using var consume = await _client.GetAsync("/messages/consume?queue_id=abc&queue_name=a.b&wait_time=0");

        var found = await find.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        found.ErrorsFor("id").Should().ContainSingle().Which.Should().Contain("whole number from 1");
        found.ErrorsFor("name").Should().ContainSingle().Which.Should().Contain("may contain only");
        var consumed = await consume.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        consumed.GetProperty("errors").EnumerateObject().Should().HaveCount(2, "the consume is the endpoint the find should agree with");
    }

    [Fact]
    public async Task List_returns_every_queue_with_its_counts_in_snake_case()
    {
        var empty = await _client.CreateQueueAsync();
        var busy = await _client.CreateQueueAsync();
        await _client.SendAsync(busy.Id, "one");
        await _client.SendAsync(busy.Id, "two");

        using var response = await _client.GetAsync("/queues");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var queues = (await response.ReadJsonAsync()).EnumerateArray().ToList();
        queues.Should().OnlyContain(q => q.PropertyNames().Length == 5);
        queues[0].PropertyNames().Should().BeEquivalentTo("id", "name", "queue_size", "retrievable_size", "in_flight_size");
        var counts = await response.ReadAsync<QueueCounts[]>();
        counts.Should().Contain(new QueueCounts(empty.Id, empty.Name, 0, 0, 0));
        counts.Should().Contain(new QueueCounts(busy.Id, busy.Name, 2, 2, 0));
    }

    [Fact]
    public async Task Peek_returns_the_oldest_messages_first_up_to_size()
    {
        var queue = await _client.CreateQueueAsync();
        var ids = new List<long>();
        for (var i = 1; i <= 4; i++)
        {
            ids.Add(await _client.SendAsync(queue.Id, $"message {i}"));
        }

        var peeked = await _client.PeekAsync(queue.Id, size: 3);

        peeked.Select(m => m.Id).Should().Equal(ids.Take(3));
        peeked.Select(m => m.Body).Should().Equal("message 1", "message 2", "message 3");
    }

    [Fact]
    public async Task Peek_returns_messages_in_snake_case_with_null_reservation_for_never_consumed()
    {
        var queue = await _client.CreateQueueAsync();
        await _client.SendAsync(queue.Id, "hello");

        using var response = await _client.GetAsync($"/queues/{queue.Id}/messages");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var message = (await response.ReadJsonAsync()).EnumerateArray().Should().ContainSingle().Subject;
        message.PropertyNames().Should().BeEquivalentTo(
            "id", "queue_id", "body", "created_at", "retrievable_at", "reservation_token", "receive_count");
        message.GetProperty("queue_id").GetInt64().Should().Be(queue.Id);
        message.GetProperty("body").GetString().Should().Be("hello");
        message.GetProperty("created_at").GetString().Should().MatchRegex(UtcMilliseconds());
        message.GetProperty("retrievable_at").ValueKind.Should().Be(System.Text.Json.JsonValueKind.Null);
        message.GetProperty("reservation_token").ValueKind.Should().Be(System.Text.Json.JsonValueKind.Null);
        message.GetProperty("receive_count").GetInt32().Should().Be(0);
    }

    [Fact]
    public async Task Peek_defaults_to_10_messages()
    {
        var queue = await _client.CreateQueueAsync();
        for (var i = 0; i < 12; i++)
        {
            await _client.SendAsync(queue.Id, $"m{i}");
        }

        using var response = await _client.GetAsync($"/queues/{queue.Name}/messages");

        (await response.ReadAsync<MessageDto[]>()).Should().HaveCount(10);
    }

    [Fact]
    public async Task Peek_does_not_claim_messages()
    {
        var queue = await _client.CreateQueueAsync();
        var id = await _client.SendAsync(queue.Id, "still here");

        await _client.PeekAsync(queue.Id);
        var consumed = await _client.ConsumeAsync(queue.Id);

        consumed.Should().ContainSingle().Which.Should().Match<MessageDto>(m => m.Id == id && m.ReceiveCount == 1);
    }

    [Fact]
    public async Task Peek_shows_in_flight_messages_with_their_reservation()
    {
        var queue = await _client.CreateQueueAsync();
        await _client.SendAsync(queue.Id, "taken");
        var claimed = (await _client.ConsumeAsync(queue.Id)).Single();

        var peeked = await _client.PeekAsync(queue.Id);

        peeked.Should().ContainSingle().Which.Should().BeEquivalentTo(claimed);
    }

    [Fact]
    public async Task Peek_by_name_and_by_id_agree()
    {
        var queue = await _client.CreateQueueAsync();
        await _client.SendAsync(queue.Id, "same");

        using var byName = await _client.GetAsync($"/queues/{queue.Name}/messages");
        using var byId = await _client.GetAsync($"/queues/{queue.Id}/messages");

        (await byName.ReadAsync<MessageDto[]>()).Should().BeEquivalentTo(await byId.ReadAsync<MessageDto[]>());
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(100, 2)]
    public async Task Peek_accepts_a_size_at_either_end_of_its_range(int size, int expected)
    {
        var queue = await _client.CreateQueueAsync();
        await _client.SendAsync(queue.Id, "first");
        await _client.SendAsync(queue.Id, "second");

        using var response = await _client.GetAsync($"/queues/{queue.Id}/messages?size={size}");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.ReadAsync<MessageDto[]>()).Should().HaveCount(expected);
    }

    [Theory]
    [InlineData("0", "from 1 to 100")]
    [InlineData("101", "from 1 to 100")]
    [InlineData("ten", "from 1 to 100")]
    public async Task Peek_with_size_out_of_range_returns_400_naming_the_limit(string size, string limit)
    {
        var queue = await _client.CreateQueueAsync();

        using var response = await _client.GetAsync($"/queues/{queue.Id}/messages?size={size}");

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        problem.ErrorsFor("size").Should().ContainSingle().Which.Should().Contain(limit);
    }

    [Theory]
    [InlineData("999999999")]
    [InlineData("no-such-queue-here")]
    public async Task Peek_an_unknown_queue_returns_404(string segment)
    {
        using var response = await _client.GetAsync($"/queues/{segment}/messages");

        await response.ShouldBeProblemAsync(HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("GET", "/queues/0/messages", "a queue id")]
    [InlineData("GET", "/queues/99999999999999999999/messages", "a queue id (a whole number from 1 to 9223372036854775807)")]
    [InlineData("DELETE", "/queues/9223372036854775808", "a queue id (a whole number from 1 to 9223372036854775807)")]
    [InlineData("GET", "/queues/has%20space/messages", "only the letters")]
    [InlineData("GET", "/queues/has%20space/messages?size=0", "only the letters")]
    [InlineData("DELETE", "/queues/0", "a queue id")]
    [InlineData("DELETE", "/queues/dot.ted", "only the letters")]
    public async Task A_queue_segment_that_could_name_no_queue_returns_400_keyed_queue(string method, string path, string reason)
    {
        using var response = await _client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        problem.ErrorsFor("queue").Should().ContainSingle().Which.Should().Contain(reason);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Delete_removes_the_queue_and_its_messages_by_id_or_name(bool byId)
    {
        var queue = await _client.CreateQueueAsync();
        var messageId = await _client.SendAsync(queue.Id, "gone with it");

        using var response = await _client.DeleteAsync($"/queues/{(byId ? queue.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) : queue.Name)}");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.ReadJsonAsync()).GetRawText().Should().Be("""{"success":true}""");
        using var find = await _client.GetAsync($"/queues/find?id={queue.Id}");
        find.StatusCode.Should().Be(HttpStatusCode.NotFound);
        using var deleteMessage = await _client.DeleteMessageAsync(messageId);
        deleteMessage.StatusCode.Should().Be(HttpStatusCode.NotFound, "the queue's messages went with it");
        using var list = await _client.GetAsync("/queues");
        (await list.ReadAsync<QueueCounts[]>()).Should().NotContain(q => q.Id == queue.Id);
    }

    [Theory]
    [InlineData("999999999")]
    [InlineData("no-such-queue-to-delete")]
    public async Task Delete_an_unknown_queue_returns_404_with_success_false(string segment)
    {
        using var response = await _client.DeleteAsync($"/queues/{segment}");

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.NotFound);
        problem.GetProperty("success").GetBoolean().Should().BeFalse();
    }

    [Fact]
    public async Task A_deleted_queue_name_can_be_created_again_with_a_new_id()
    {
        var first = await _client.CreateQueueAsync();
        using var delete = await _client.DeleteAsync($"/queues/{first.Id}");

        var second = await _client.CreateQueueAsync(first.Name);

        second.Id.Should().NotBe(first.Id);
        (await _client.PeekAsync(second.Id)).Should().BeEmpty();
    }

    [Fact]
    public async Task Sends_after_a_queue_is_deleted_and_recreated_go_to_the_new_queue_only()
    {
        var first = await _client.CreateQueueAsync();
        await _client.SendAsync(first.Id, "to the first");
        using var delete = await _client.DeleteAsync($"/queues/{first.Id}");
        var second = await _client.CreateQueueAsync(first.Name);

        using var byOldId = await _client.PostAsync("/messages", Wire.Json(new SendMessageRequest(first.Id, null, "lost?")));
        using var byOldIdAndName = await _client.PostAsync("/messages", Wire.Json(new SendMessageRequest(first.Id, first.Name, "lost?")));
        using var byName = await _client.PostAsync("/messages", Wire.Json(new SendMessageRequest(null, first.Name, "to the second")));

        await byOldId.ShouldBeProblemAsync(HttpStatusCode.NotFound);
        await byOldIdAndName.ShouldBeProblemAsync(HttpStatusCode.NotFound);
        byName.StatusCode.Should().Be(HttpStatusCode.Created);
        (await _client.PeekAsync(second.Id)).Select(m => m.Body).Should().Equal("to the second");
    }

    [Fact]
    public async Task An_unknown_route_returns_404_problem_json_titled_as_an_unknown_queue_is()
    {
        using var response = await _client.GetAsync("/nowhere");
        using var unknownQueue = await _client.GetAsync("/queues/find?name=no-such-queue-here");

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.NotFound);
        var other = await unknownQueue.ShouldBeProblemAsync(HttpStatusCode.NotFound);
        problem.GetProperty("title").GetString().Should().Be("Not found.").And.Be(other.GetProperty("title").GetString());
        other.GetProperty("type").GetString().Should().Be("https://tools.ietf.org/html/rfc9110#section-15.5.5");
    }

    [Fact]
    public async Task A_wrong_method_returns_405_problem_json()
    {
        using var response = await _client.PutAsync("/queues", Wire.Json("{}"));

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.MethodNotAllowed);
        problem.GetProperty("title").GetString().Should().Be("Method not allowed.");
    }
}

/// <summary>The same on PostgreSQL: the contract both stores keep.</summary>
public sealed class QueuesApiOnPostgresTests(PostgresSharedBroker broker) : QueuesApiTests(broker), IClassFixture<PostgresSharedBroker>;
