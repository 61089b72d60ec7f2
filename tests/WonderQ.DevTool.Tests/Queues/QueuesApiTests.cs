using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using WonderQ.Shared.Client;
using WonderQ.Shared.Contracts;

namespace WonderQ.DevTool.Tests.Queues;

public sealed class QueuesApiTests(BrokerAndDevTool apps) : IClassFixture<BrokerAndDevTool>
{
    private readonly HttpClient _devTool = apps.DevTool.CreateClient();

    private BrokerClient Broker => apps.BrokerClient;

    private static string NewQueueName() => "q-" + Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task List_shows_every_queue_with_its_three_counts()
    {
        var name = NewQueueName();
        var queue = await Broker.CreateQueueAsync(name);
        await Broker.SendAsync(QueueRef.ByName(name), "one");
        await Broker.SendAsync(QueueRef.ByName(name), "two");
        await Broker.ConsumeAsync(QueueRef.ByName(name), size: 1, waitTimeSeconds: 0, visibilityTimeoutSeconds: 300);

        using var response = await _devTool.GetAsync("/queues");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var row = json.RootElement.EnumerateArray().Single(q => q.GetProperty("name").GetString() == name);
        row.EnumerateObject().Select(p => p.Name).Should().BeEquivalentTo("id", "name", "queue_size", "retrievable_size", "in_flight_size");
        row.GetProperty("id").GetInt64().Should().Be(queue.Id);
        row.GetProperty("queue_size").GetInt64().Should().Be(2);
        row.GetProperty("retrievable_size").GetInt64().Should().Be(1);
        row.GetProperty("in_flight_size").GetInt64().Should().Be(1);
    }

    [Fact]
    public async Task Peek_returns_the_oldest_messages_first_as_message_objects()
    {
        var name = NewQueueName();
        await Broker.CreateQueueAsync(name);
        foreach (var body in new[] { "first", "second", "third" })
        {
            await Broker.SendAsync(QueueRef.ByName(name), body);
        }

        using var response = await _devTool.GetAsync($"/queues/{name}?size=2");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var messages = json.RootElement.EnumerateArray().ToList();
        messages.Select(m => m.GetProperty("body").GetString()).Should().Equal("first", "second");
        messages[0].EnumerateObject().Select(p => p.Name).Should().BeEquivalentTo(
            "id", "queue_id", "body", "created_at", "retrievable_at", "reservation_token", "receive_count");
        messages[0].GetProperty("retrievable_at").ValueKind.Should().Be(JsonValueKind.Null);
        messages[0].GetProperty("created_at").GetString().Should().MatchRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$");
    }

    [Fact]
    public async Task Peek_takes_a_queue_id_and_defaults_to_ten_messages()
    {
        var name = NewQueueName();
        var queue = await Broker.CreateQueueAsync(name);
        for (var i = 1; i <= 12; i++)
        {
            await Broker.SendAsync(QueueRef.ByName(name), $"message {i}");
        }

        var messages = await _devTool.GetFromJsonAsync<MessageDto[]>($"/queues/{queue.Id}", Shared.Json.WonderQJson.Options);

        messages.Should().HaveCount(10);
        messages!.Select(m => m.Body).First().Should().Be("message 1");
    }

    [Fact]
    public async Task Peek_does_not_claim_the_messages()
    {
        var name = NewQueueName();
        await Broker.CreateQueueAsync(name);
        await Broker.SendAsync(QueueRef.ByName(name), "still there");

        var peeked = await _devTool.GetFromJsonAsync<MessageDto[]>($"/queues/{name}", Shared.Json.WonderQJson.Options);
        var consumed = await Broker.ConsumeAsync(QueueRef.ByName(name), waitTimeSeconds: 0);

        peeked.Should().ContainSingle().Which.Body.Should().Be("still there");
        consumed.Should().ContainSingle().Which.ReceiveCount.Should().Be(1);
    }

    [Fact]
    public async Task Peek_of_an_unknown_queue_is_a_404_problem_without_a_success_flag()
    {
        using var response = await _devTool.GetAsync($"/queues/{NewQueueName()}");

        // Only the two DELETEs answer {success: false}; a relayed 404 says what the broker said, and no more.
        var problem = await ProblemAssertions.ShouldBeProblemAsync(response, HttpStatusCode.NotFound, "There is no queue");
        problem.TryGetProperty("success", out _).Should().BeFalse();
    }

    [Theory]
    [InlineData("0")]
    [InlineData("101")]
    [InlineData("ten")]
    public async Task Peek_with_a_size_out_of_range_is_a_400_naming_size(string size)
    {
        var name = NewQueueName();
        await Broker.CreateQueueAsync(name);

        using var response = await _devTool.GetAsync($"/queues/{name}?size={size}");

        var problem = await ProblemAssertions.ShouldBeProblemAsync(response, HttpStatusCode.BadRequest, "'size' must be a whole number from 1 to 100");
        problem.GetProperty("errors").TryGetProperty("size", out _).Should().BeTrue();
    }

    [Fact]
    public async Task Peek_with_an_invalid_queue_name_is_a_400()
    {
        using var response = await _devTool.GetAsync("/queues/not%20a%20name");

        await ProblemAssertions.ShouldBeProblemAsync(response, HttpStatusCode.BadRequest, "'queue' may contain only");
    }

    [Fact]
    public async Task Create_queue_passes_the_queue_on_and_a_duplicate_is_a_409()
    {
        var name = NewQueueName();

        using var created = await _devTool.PostAsJsonAsync("/queues", new { name });
        using var duplicate = await _devTool.PostAsJsonAsync("/queues", new { name });

        created.StatusCode.Should().Be(HttpStatusCode.Created);
        created.Headers.Location.Should().BeNull("the DevTool's /queues/{queue} is the queue's messages, not the queue");
        (await Broker.FindQueueAsync(QueueRef.ByName(name))).Should().NotBeNull();
        await ProblemAssertions.ShouldBeProblemAsync(duplicate, HttpStatusCode.Conflict, "already exists");
    }

    [Fact]
    public async Task Create_queue_on_a_broker_at_its_queue_limit_is_its_422_naming_the_setting()
    {
        await using var broker = await KestrelBroker.StartAsync("--Limits:MaxQueues=1");
        await using var devTool = new DevToolApplication(brokerHandler: null, broker.Url.ToString());
        using var client = devTool.CreateClient();
        using var first = await client.PostAsJsonAsync("/queues", new { name = "first" });

        using var second = await client.PostAsJsonAsync("/queues", new { name = "second" });

        first.StatusCode.Should().Be(HttpStatusCode.Created);
        var problem = await ProblemAssertions.ShouldBeProblemAsync(second, HttpStatusCode.UnprocessableEntity, "Limits:MaxQueues");
        problem.GetProperty("title").GetString().Should().Be("Too many queues.");
        problem.GetProperty("type").GetString().Should().Be("https://tools.ietf.org/html/rfc9110#section-15.5.21");
    }

    [Fact]
    public async Task Create_queue_with_an_invalid_name_is_a_400_keyed_by_name()
    {
        using var response = await _devTool.PostAsJsonAsync("/queues", new { name = "has spaces" });

        var problem = await ProblemAssertions.ShouldBeProblemAsync(response, HttpStatusCode.BadRequest, "'name' may contain only");
        problem.GetProperty("errors").TryGetProperty("name", out _).Should().BeTrue();
    }

    [Fact]
    public async Task Peek_is_answered_304_while_the_messages_are_unchanged_and_in_full_once_they_change()
    {
        var name = NewQueueName();
        await Broker.CreateQueueAsync(name);
        await Broker.SendAsync(QueueRef.ByName(name), "one");
        using var first = await _devTool.GetAsync($"/queues/{name}");
        var tag = first.Headers.ETag!.ToString();

        using var unchanged = await PeekAsync(name, tag);
        await Broker.SendAsync(QueueRef.ByName(name), "two");
        using var changed = await PeekAsync(name, tag);

        unchanged.StatusCode.Should().Be(HttpStatusCode.NotModified);
        (await unchanged.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
        changed.StatusCode.Should().Be(HttpStatusCode.OK);
        changed.Headers.ETag!.ToString().Should().NotBe(tag);
        changed.Headers.CacheControl!.NoCache.Should().BeTrue();
        var messages = await changed.Content.ReadFromJsonAsync<JsonElement>();
        messages.EnumerateArray().Select(m => m.GetProperty("body").GetString()).Should().Equal("one", "two");
    }

    private async Task<HttpResponseMessage> PeekAsync(string queue, string ifNoneMatch)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/queues/{queue}");
        request.Headers.TryAddWithoutValidation("If-None-Match", ifNoneMatch);
        return await _devTool.SendAsync(request);
    }

    [Fact]
    public async Task Send_message_reaches_the_queue()
    {
        var name = NewQueueName();
        await Broker.CreateQueueAsync(name);

        using var response = await _devTool.PostAsJsonAsync("/messages", new { queue_name = name, body = "hello" });

        response.StatusCode.Should().Be(HttpStatusCode.Created);
        var messages = await Broker.PeekAsync(QueueRef.ByName(name));
        messages.Should().ContainSingle().Which.Body.Should().Be("hello");
    }

    [Fact]
    public async Task Send_message_without_a_body_is_a_400_and_to_an_unknown_queue_a_404()
    {
        using var noBody = await _devTool.PostAsJsonAsync("/messages", new { queue_name = NewQueueName() });
        using var noQueue = await _devTool.PostAsJsonAsync("/messages", new { queue_name = NewQueueName(), body = "x" });

        await ProblemAssertions.ShouldBeProblemAsync(noBody, HttpStatusCode.BadRequest, "'body' is required");
        await ProblemAssertions.ShouldBeProblemAsync(noQueue, HttpStatusCode.NotFound, "There is no queue");
    }

    [Fact]
    public async Task Delete_queue_removes_it_and_a_second_delete_is_a_404_with_success_false()
    {
        var name = NewQueueName();
        await Broker.CreateQueueAsync(name);

        using var deleted = await _devTool.DeleteAsync($"/queues/{name}");
        using var again = await _devTool.DeleteAsync($"/queues/{name}");

        deleted.StatusCode.Should().Be(HttpStatusCode.OK);
        (await deleted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("success").GetBoolean().Should().BeTrue();
        (await Broker.FindQueueAsync(QueueRef.ByName(name))).Should().BeNull();
        var problem = await ProblemAssertions.ShouldBeProblemAsync(again, HttpStatusCode.NotFound, "There is no queue");
        problem.GetProperty("success").GetBoolean().Should().BeFalse();
    }

    [Fact]
    public async Task Malformed_json_is_a_400_not_a_500()
    {
        using var content = new StringContent("{\"name\":", System.Text.Encoding.UTF8, "application/json");
        using var response = await _devTool.PostAsync("/queues", content);

        await ProblemAssertions.ShouldBeProblemAsync(response, HttpStatusCode.BadRequest, "JSON");
    }
}
