using System.Net;
using WonderQ.Shared.Client;
using WonderQ.Shared.Contracts;

namespace WonderQ.Broker.Tests.Web;

/// <summary>
/// A query parameter or a body field the endpoint does not take is a 400 naming it, over a real socket: ignored, a
/// misspelt one would silently take its default (<c>sise=5</c> consuming one message, <c>visiblity_timeout=1</c>
/// reserving for 30 s). What every endpoint takes is read from what it binds, so every documented parameter is still
/// taken, in any case, and an endpoint that takes none leaves a cache-buster alone.
/// </summary>
public sealed class UnknownParameterTests(KestrelBroker broker) : IClassFixture<KestrelBroker>, IDisposable
{
    private readonly HttpClient _client = broker.CreateClient();

    [Theory]
    [InlineData("GET", "/messages/consume?queue_name={queue}&wait_time=0&visiblity_timeout=1&sise=5", "visiblity_timeout",
        "'visiblity_timeout' is not a parameter of GET /messages/consume: it takes queue_id, queue_name, size, wait_time, visibility_timeout.")]
    [InlineData("GET", "/messages/consume?queue_name={queue}&wait_time=0&sise=5", "sise",
        "'sise' is not a parameter of GET /messages/consume: it takes queue_id, queue_name, size, wait_time, visibility_timeout.")]
    [InlineData("GET", "/queues/find?nmae={queue}", "nmae", "'nmae' is not a parameter of GET /queues/find: it takes id, name.")]
    [InlineData("GET", "/queues/find?na%0Ame={queue}", "na\nme", "'na?me' is not a parameter of GET /queues/find: it takes id, name.")] // a detail is one line
    [InlineData("GET", "/queues/{queue}/messages?count=5", "count", "'count' is not a parameter of GET /queues/{queue}/messages: it takes size.")]
    [InlineData("DELETE", "/messages/1?token=abc", "token", "'token' is not a parameter of DELETE /messages/{id}: it takes reservation_token.")]
    [InlineData("POST", "/messages?queue_name={queue}", "queue_name",
        "'queue_name' is not a parameter of POST /messages: it takes none in the query string; give queue_id, queue_name, body in the JSON body.")]
    public async Task An_unknown_query_parameter_is_a_400_naming_it_and_what_the_endpoint_takes(string method, string target, string name, string detail)
    {
        var queue = await _client.CreateQueueAsync();
        using var request = new HttpRequestMessage(new HttpMethod(method), target.Replace("{queue}", queue.Name, StringComparison.Ordinal));
        if (method == "POST")
        {
            request.Content = Wire.Json("""{"body":"hello"}""");
        }

        using var response = await _client.SendAsync(request);

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        problem.GetProperty("title").GetString().Should().Be("The request is not valid.");
        problem.GetProperty("detail").GetString().Should().Be(detail);
        problem.ErrorsFor(name).Should().Equal(detail);
        (await _client.CountsAsync(queue.Id)).QueueSize.Should().Be(0, "a refused request sends nothing");
    }

    [Fact]
    public async Task A_refused_consume_claims_nothing()
    {
        var queue = await _client.CreateQueueAsync();
        await _client.SendAsync(queue.Id, "still there");

        using var response = await _client.GetAsync($"/messages/consume?queue_id={queue.Id}&wait_time=0&visiblity_timeout=1");

        await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        (await _client.CountsAsync(queue.Id)).InFlightSize.Should().Be(0);
    }

    [Theory]
    [InlineData("/queues", """{"name":"{queue}","extra":1}""", "extra", "'extra' is not a field of POST /queues: its JSON body takes name.")]
    [InlineData("/messages", """{"queue_name":"{queue}","body":"hello","bodyy":"hi"}""", "bodyy",
        "'bodyy' is not a field of POST /messages: its JSON body takes queue_id, queue_name, body.")]
    [InlineData("/messages", """{"queue":"{queue}","body":"hello"}""", "queue",
        "'queue' is not a field of POST /messages: its JSON body takes queue_id, queue_name, body.")]
    public async Task An_unknown_body_field_is_a_400_keyed_by_it_not_invalid_json(string path, string json, string name, string detail)
    {
        var queue = await _client.CreateQueueAsync();

        using var response = await _client.PostAsync(path, Wire.Json(json.Replace("{queue}", queue.Name, StringComparison.Ordinal)));

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        problem.GetProperty("title").GetString().Should().Be("The request is not valid.");
        problem.GetProperty("detail").GetString().Should().Be(detail);
        problem.ErrorsFor(name).Should().Equal(detail);
        (await _client.CountsAsync(queue.Id)).QueueSize.Should().Be(0, "a refused send stores nothing");
    }

    [Fact]
    public async Task A_reservation_token_in_a_delete_s_body_is_a_400_that_deletes_nothing()
    {
        // The token of a consume whose reservation ran out, sent where a JSON API might take it: ignored, the delete
        // was unconditional and took the message from the consumer that claimed it since.
        var queue = await _client.CreateQueueAsync();
        var id = await _client.SendAsync(queue.Id, "claimed again");
        var stale = (await _client.ConsumeAsync(queue.Id, visibilityTimeout: 0)).Single();
        await _client.ConsumeAsync(queue.Id, visibilityTimeout: 60);
        using var request = new HttpRequestMessage(HttpMethod.Delete, $"/messages/{id}")
        {
            Content = Wire.Json($$"""{"reservation_token":"{{stale.ReservationToken}}"}"""),
        };

        using var response = await _client.SendAsync(request);

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        problem.GetProperty("detail").GetString().Should().Be(
            "DELETE /messages/{id} reads no request body: give reservation_token in the query string.");
        (await _client.CountsAsync(queue.Id)).InFlightSize.Should().Be(1, "the message stays with the consumer that holds it");
    }

    [Theory]
    [InlineData("GET", "/messages/consume?queue_name={queue}&wait_time=0", """{"size":5}""",
        "GET /messages/consume reads no request body: give queue_id, queue_name, size, wait_time, visibility_timeout in the query string.")]
    [InlineData("GET", "/queues/find", """{"name":"{queue}"}""", "GET /queues/find reads no request body: give id, name in the query string.")]
    [InlineData("GET", "/queues/{queue}/messages", """{"size":5}""", "GET /queues/{queue}/messages reads no request body: give size in the query string.")]
    public async Task A_body_sent_to_an_endpoint_that_takes_the_query_string_is_a_400_that_claims_nothing(
        string method, string target, string json, string detail)
    {
        var queue = await _client.CreateQueueAsync();
        await _client.SendAsync(queue.Id, "still there");
        using var request = new HttpRequestMessage(new HttpMethod(method), target.Replace("{queue}", queue.Name, StringComparison.Ordinal))
        {
            Content = Wire.Json(json.Replace("{queue}", queue.Name, StringComparison.Ordinal)),
        };

        using var response = await _client.SendAsync(request);

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        problem.GetProperty("detail").GetString().Should().Be(detail);
        (await _client.CountsAsync(queue.Id)).InFlightSize.Should().Be(0);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_empty_body_on_a_delete_is_no_body(bool chunked)
    {
        var queue = await _client.CreateQueueAsync();
        await _client.SendAsync(queue.Id, "one");
        var message = (await _client.ConsumeAsync(queue.Id, visibilityTimeout: 60)).Single();
        using var request = new HttpRequestMessage(HttpMethod.Delete, $"/messages/{message.Id}?reservation_token={message.ReservationToken}")
        {
            Content = new ByteArrayContent([]),
        };

        // Chunked, the body's framing arrives without data in it.
        request.Headers.TransferEncodingChunked = chunked;

        using var response = await _client.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        (await _client.CountsAsync(queue.Id)).QueueSize.Should().Be(0);
    }

    [Fact]
    public async Task A_request_with_every_documented_parameter_is_answered_as_before()
    {
        using var created = await _client.PostAsync("/queues", Wire.Json($$"""{"name":"{{Wire.UniqueQueueName("every")}}"}"""));
        created.StatusCode.Should().Be(HttpStatusCode.Created);
        var queue = await created.ReadAsync<QueueDto>();

        using var found = await _client.GetAsync($"/queues/find?id={queue.Id}&name={queue.Name}");
        using var sent = await _client.PostAsync("/messages", Wire.Json($$"""{"queue_id":{{queue.Id}},"queue_name":"{{queue.Name}}","body":"one"}"""));
        using var peeked = await _client.GetAsync($"/queues/{queue.Name}/messages?size=5");
        using var consumed = await _client.GetAsync(
            $"/messages/consume?queue_id={queue.Id}&queue_name={queue.Name}&size=5&wait_time=0&visibility_timeout=60");
        var message = (await consumed.ReadAsync<MessageDto[]>()).Should().ContainSingle().Subject;
        using var deleted = await _client.DeleteAsync($"/messages/{message.Id}?reservation_token={Uri.EscapeDataString(message.ReservationToken!)}");

        found.StatusCode.Should().Be(HttpStatusCode.OK);
        sent.StatusCode.Should().Be(HttpStatusCode.Created);
        peeked.StatusCode.Should().Be(HttpStatusCode.OK);
        consumed.StatusCode.Should().Be(HttpStatusCode.OK);
        message.RetrievableAt.Should().BeCloseTo(DateTimeOffset.UtcNow.AddSeconds(60), TimeSpan.FromSeconds(15), "visibility_timeout was read");
        deleted.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Parameter_and_field_names_match_without_regard_to_case()
    {
        var queue = await _client.CreateQueueAsync();
        using var sent = await _client.PostAsync("/messages", Wire.Json($$"""{"Queue_Id":{{queue.Id}},"BODY":"one"}"""));
        await _client.SendAsync(queue.Id, "two");

        using var consumed = await _client.GetAsync($"/messages/consume?QUEUE_ID={queue.Id}&Size=2&Wait_Time=0");

        sent.StatusCode.Should().Be(HttpStatusCode.Created);
        consumed.StatusCode.Should().Be(HttpStatusCode.OK);
        (await consumed.ReadAsync<MessageDto[]>()).Should().HaveCount(2, "Size was read as size");
    }

    [Fact]
    public async Task The_typed_client_sends_every_parameter_it_has_and_is_answered()
    {
        var client = new BrokerClient(broker.CreateClient());
        var queue = await client.CreateQueueAsync(Wire.UniqueQueueName("client"));
        var both = new QueueRef(queue.Id, queue.Name);
        await client.SendAsync(both, "one");

        var found = await client.FindQueueAsync(both);
        var peek = await client.PeekIfChangedAsync(both, 5, null);
        var consumed = await client.ConsumeAsync(both, size: 5, waitTimeSeconds: 0, visibilityTimeoutSeconds: 60);
        var deleted = await client.DeleteMessageAsync(consumed.Single().Id, consumed.Single().ReservationToken);

        found!.Id.Should().Be(queue.Id);
        peek.Messages.Should().ContainSingle();
        deleted.Should().BeTrue();
    }

    [Theory]
    [InlineData("/healthz?_=1733000000000")]
    [InlineData("/queues?_=1733000000000")]
    [InlineData("/openapi/v1.json?_=1")]
    [InlineData("/healthz?_=1&_=2")]
    [InlineData("/queues?_=1&_=2")]
    public async Task An_endpoint_that_takes_no_parameters_leaves_a_cache_buster_alone_even_given_twice(string target)
    {
        using var get = await _client.GetAsync(target);
        using var head = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Head, target));

        get.StatusCode.Should().Be(HttpStatusCode.OK);
        head.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_queue_delete_leaves_a_parameter_given_twice_alone()
    {
        var queue = await _client.CreateQueueAsync();

        using var response = await _client.DeleteAsync($"/queues/{queue.Name}?_=1&_=2");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        using var find = await _client.GetAsync($"/queues/find?id={queue.Id}");
        find.StatusCode.Should().Be(HttpStatusCode.NotFound, "the queue was deleted");
    }

    [Fact]
    public async Task A_path_no_endpoint_serves_is_a_404_for_its_path_even_with_a_parameter_given_twice()
    {
        using var response = await _client.GetAsync("/queue?_=1&_=2");

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.NotFound);
        problem.GetProperty("detail").GetString().Should().StartWith("There is no endpoint at GET /queue");
    }

    public void Dispose() => _client.Dispose();
}
