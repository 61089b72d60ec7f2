using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using WonderQ.Shared.Client;
using WonderQ.Shared.Contracts;
using WonderQ.Shared.Json;
using WonderQ.UserApp.Dispatch;
using WonderQ.UserApp.Tests.Infrastructure;

namespace WonderQ.UserApp.Tests.Dispatch;

public partial class DispatchTests : UserAppTestBase
{
    [Fact]
    public async Task Dispatch_with_body_creates_the_queue_and_sends_one_message()
    {
        var result = await DispatchAsync(new { queue_name = "orders", body = "hello" });

        result.QueueCreated.Should().BeTrue();
        result.Queue.Name.Should().Be("orders");
        result.Created.Should().Be(1);
        result.Messages.Should().ContainSingle();
        result.Failed.Should().BeEmpty();
        var stored = await BrokerClient.Client.PeekAsync(QueueRef.ByName("orders"));
        stored.Should().ContainSingle().Which.Should().Match<MessageDto>(m => m.Id == result.Messages[0].Id && m.Body == "hello");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(10_001)]
    public async Task Dispatch_with_a_body_sends_it_once_whatever_stub_says(int stub)
    {
        var queue = $"with-stub-{stub}";
        var result = await DispatchAsync(new { queue_name = queue, body = "hello", stub });

        result.Created.Should().Be(1);
        (await BrokerClient.Client.PeekAsync(QueueRef.ByName(queue))).Should().ContainSingle().Which.Body.Should().Be("hello");
    }

    [Fact]
    public async Task Dispatch_of_a_body_of_only_whitespace_sends_it_as_it_is()
    {
        var result = await DispatchAsync(new { queue_name = "spaces", body = " \n" });

        result.Created.Should().Be(1);
        (await BrokerClient.Client.PeekAsync(QueueRef.ByName("spaces"))).Should().ContainSingle().Which.Body.Should().Be(" \n");
    }

    [Fact]
    public async Task Dispatch_stops_sending_once_a_message_fails_for_good_and_reports_the_rest_unsent()
    {
        await using var app = new UserAppFactory(Broker.Url, new Dictionary<string, string> { ["UserApp:DispatchParallelism"] = "1" });
        using var http = app.CreateClient();
        var sends = 0;
        app.BrokerRequest = request => IsSend(request) && Interlocked.Increment(ref sends) == 50
                ? TooLarge("The message is 300000 bytes; the most is 262144 (Limits:MaxMessageBytes).")
                : null;

        var result = await DispatchToAsync(http, new { queue_name = "cut-short", stub = 300 });

        result.Created.Should().Be(49);
        result.Failed.Should().HaveCount(251);
        result.Failed[0].Error.Should().Be("The message is 300000 bytes; the most is 262144 (Limits:MaxMessageBytes).");
        result.Failed.Skip(1).Should().AllSatisfy(f => f.Error.Should().StartWith("Not sent: an earlier message failed"));
        sends.Should().Be(50, "none was sent after the failure");
        (await QueueSizeAsync("cut-short")).Should().Be(49);
    }

    /// <summary>
    /// A caller who named the queue never saw its id, which the broker's 404 names: the error says the queue went away
    /// under the dispatch, and that what was sent before went with it.
    /// </summary>
    [Fact]
    public async Task Dispatch_whose_queue_is_deleted_midway_says_so_by_name()
    {
        await using var app = new UserAppFactory(Broker.Url, new Dictionary<string, string> { ["UserApp:DispatchParallelism"] = "1" });
        using var http = app.CreateClient();
        var sends = 0;
        app.BrokerRequest = request =>
        {
            if (IsSend(request) && Interlocked.Increment(ref sends) == 20)
            {
                BrokerClient.Client.DeleteQueueAsync(QueueRef.ByName("deleted-midway")).GetAwaiter().GetResult().Should().BeTrue();
            }

            return null;
        };

        var result = await DispatchToAsync(http, new { queue_name = "deleted-midway", stub = 100 });

        result.Created.Should().Be(19);
        result.Failed.Should().HaveCount(81);
        result.Failed[0].Error.Should().Be(
            $"The queue 'deleted-midway' ({result.Queue.Id}) was deleted while this dispatch ran; the messages sent to it before went with it.");
        (await BrokerClient.Client.FindQueueAsync(QueueRef.ByName("deleted-midway"))).Should().BeNull();
    }

    [Fact]
    public async Task Dispatch_retries_sends_the_broker_refuses_for_now_and_counts_them_created()
    {
        // The broker is busy for the first two attempts: each is a 503 that the client retries.
        var attempts = 0;
        App.BrokerRequest = request => IsSend(request) && Interlocked.Increment(ref attempts) <= 2 ? Busy() : null;

        var result = await DispatchAsync(new { queue_name = "busy-at-first", stub = 5 });

        result.Created.Should().Be(5);
        result.Failed.Should().BeEmpty();
        attempts.Should().Be(7, "two refused attempts were made again");
        (await QueueSizeAsync("busy-at-first")).Should().Be(5);
    }

    [Fact]
    public async Task Dispatch_of_a_send_whose_answers_are_lost_stores_it_at_most_twice_and_says_it_may_be_stored()
    {
        // A proxy in front of the broker loses every answer: the broker stores each attempt it gets.
        App.BrokerAnswer = (request, _) => IsSend(request)
            ? new HttpResponseMessage(HttpStatusCode.BadGateway) { Content = new StringContent("<html>502 Bad Gateway</html>", System.Text.Encoding.UTF8, "text/html") }
            : null;

        var result = await DispatchAsync(new { queue_name = "answers-lost", body = "sent once" });

        result.Created.Should().Be(0);
        result.Failed.Should().ContainSingle().Which.Error.Should().Contain("The broker may have stored it all the same, its answer lost");
        (await QueueSizeAsync("answers-lost")).Should().Be(2, "a send whose answer was lost is tried once more, not once per retry");
    }

    [Fact]
    public async Task Dispatch_of_a_send_whose_503s_are_cut_off_midway_lists_it_as_perhaps_stored_not_a_500()
    {
        // Arrange: each 503 ends before its Content-Length, as a connection closed while it was written leaves it. The
        // client reads a send's 503 to learn whether nothing was kept, and that read takes the body off the connection.
        App.BrokerRequest = request => IsSend(request) ? CutOffAnswer.Of(HttpStatusCode.ServiceUnavailable, """{"status":503,"title":"Busy.","committed":false}""") : null;

        // Act
        var result = await DispatchAsync(new { queue_name = "cut-off", body = "perhaps stored" });

        // Assert: what was read of it is not the broker's word that nothing was kept.
        result.Created.Should().Be(0);
        result.Failed.Should().ContainSingle().Which.Error.Should().Contain("The broker may have stored it all the same, its answer lost");
    }

    [Fact]
    public async Task Dispatch_reports_a_send_still_refused_after_its_retries_as_failed()
    {
        App.BrokerRequest = request => IsSend(request) ? Busy() : null;

        var result = await DispatchAsync(new { queue_name = "always-busy", body = "never accepted" });

        result.Created.Should().Be(0);
        result.Failed.Should().ContainSingle().Which.Should().Match<FailedMessage>(f => f.Body == "never accepted" && f.Error.Length > 0);
        (await QueueSizeAsync("always-busy")).Should().Be(0);
    }

    [Theory]
    [InlineData("null")]
    [InlineData("""{"foo":1}""")]
    public async Task Dispatch_whose_create_is_answered_with_json_that_is_no_queue_is_a_502_not_a_500(string answer)
    {
        // Arrange: what answers the create (another server at Broker:Url) sends well-formed JSON that is no queue.
        App.BrokerRequest = request => request.Method == HttpMethod.Post && request.RequestUri!.AbsolutePath == "/queues"
            ? new HttpResponseMessage(HttpStatusCode.Created) { Content = new StringContent(answer, System.Text.Encoding.UTF8, "application/json") }
            : null;

        // Act
        using var response = await Http.PostAsJsonAsync("/dispatch", new { queue_name = "created-as-nothing", body = "hello" });

        // Assert: said as an answer that is not the broker's, not a NullReferenceException's 500 or a queue with no name.
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.BadGateway, text);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        text.Should().Contain("did not answer like a WonderQ broker");
    }

    /// <summary>
    /// The create is told the name is taken, by a dispatch that raced it, but the queue is gone again when it looks for
    /// it: a 409 that says so and sends nothing, neither a 404 for a queue it was asked to create nor a 500.
    /// </summary>
    [Fact]
    public async Task Dispatch_whose_new_queue_is_created_and_deleted_again_meanwhile_is_a_409_and_sends_nothing()
    {
        // Arrange: the broker's create says the name is taken, and its finds, before and after, find no such queue.
        var sends = 0;
        App.BrokerRequest = request =>
        {
            if (request.Method == HttpMethod.Post && request.RequestUri!.AbsolutePath == "/messages")
            {
                Interlocked.Increment(ref sends);
            }

            return request.Method == HttpMethod.Post && request.RequestUri!.AbsolutePath == "/queues"
                ? new HttpResponseMessage(HttpStatusCode.Conflict)
                {
                    Content = new StringContent(
                        """{"title":"Queue already exists.","status":409,"detail":"A queue named 'come-and-gone' already exists."}""",
                        System.Text.Encoding.UTF8,
                        "application/problem+json"),
                }
                : null;
        };

        // Act
        using var response = await Http.PostAsJsonAsync("/dispatch", new { queue_name = "come-and-gone", body = "hello" });

        // Assert
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.Conflict, text);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        JsonDocument.Parse(text).RootElement.GetProperty("detail").GetString().Should()
            .Be("The queue 'come-and-gone' was created and deleted again while this dispatch ran; try again.");
        sends.Should().Be(0);
    }

    [Fact]
    public async Task Dispatch_sends_at_most_DispatchParallelism_messages_at_once()
    {
        await using var app = new UserAppFactory(Broker.Url, new Dictionary<string, string> { ["UserApp:DispatchParallelism"] = "4" });
        using var http = app.CreateClient();
        int inFlight = 0, most = 0;
        // Each send is held 50 ms on its way; the hook counts those held at once.
        app.BrokerDelay = request =>
        {
            if (!IsSend(request))
            {
                return null;
            }

            var now = Interlocked.Increment(ref inFlight);
            for (var seen = Volatile.Read(ref most); now > seen && Interlocked.CompareExchange(ref most, now, seen) != seen; seen = Volatile.Read(ref most))
            {
            }

            return TimeSpan.FromMilliseconds(50);
        };
        app.BrokerRequest = request =>
        {
            if (IsSend(request))
            {
                Interlocked.Decrement(ref inFlight);
            }

            return null;
        };

        var result = await DispatchToAsync(http, new { queue_name = "bounded", stub = 40 });

        result.Created.Should().Be(40);
        most.Should().Be(4, "sends go out four at a time (each held 50 ms, ten rounds of them), and never more");
    }

    [Fact]
    public async Task Dispatch_under_way_when_the_app_stops_sends_no_more_and_reports_the_rest_unsent()
    {
        await using var app = new UserAppFactory(Broker.Url, new Dictionary<string, string> { ["UserApp:DispatchParallelism"] = "1" });
        using var stopping = new StoppingLifetime();
        var dispatcher = new Dispatcher(
            app.Services.GetRequiredService<BrokerClient>(),
            app.Services.GetRequiredService<IOptions<UserAppOptions>>(),
            TimeProvider.System,
            stopping,
            NullLogger<Dispatcher>.Instance);
        var queue = (await dispatcher.FindOrCreateAsync(QueueRef.ByName("stopping"), CancellationToken.None))!.Value.Queue;
        var sends = 0;
        app.BrokerRequest = request =>
        {
            if (request.Method == HttpMethod.Post && Interlocked.Increment(ref sends) == 100)
            {
                stopping.Stop();
            }

            return null;
        };

        var (sent, failed) = await dispatcher.SendAsync(queue, body: null, stub: 10_000, CancellationToken.None);

        sent.Should().HaveCount(100, "the send under way when the app began to stop still went out");
        failed.Should().HaveCount(9_900).And.AllSatisfy(f => f.Error.Should().Be("Not sent: the UserApp is shutting down."));
        (await QueueSizeAsync("stopping")).Should().Be(100);
    }

    [Fact]
    public async Task Dispatch_whose_caller_goes_away_midway_says_in_the_log_how_many_it_sent()
    {
        await using var app = new UserAppFactory(Broker.Url, new Dictionary<string, string> { ["UserApp:DispatchParallelism"] = "1" });
        using var http = app.CreateClient();
        (await http.PostAsJsonAsync("/dispatch", new { queue_name = "abandoned", body = "creates it" })).EnsureSuccessStatusCode();
        using var leaving = new CancellationTokenSource();
        var sends = 0;
        // The caller gives up (a client's timeout, a Ctrl-C) as the 100th stub goes out.
        app.BrokerRequest = request =>
        {
            if (IsSend(request) && Interlocked.Increment(ref sends) == 100)
            {
                leaving.Cancel();
            }

            return null;
        };

        var dispatch = () => http.PostAsJsonAsync("/dispatch", new { queue_name = "abandoned", stub = 10_000 }, leaving.Token);

        await dispatch.Should().ThrowAsync<OperationCanceledException>();
        var warning = await Eventually.ValueAsync(
            () => app.Logs.Lines.SingleOrDefault(w => w.Contains("caller went away", StringComparison.Ordinal)) ?? "",
            line => line.Length > 0,
            "a warning says the dispatch was cut short");
        var stored = await QueueSizeAsync("abandoned") - 1;
        warning.Should().Contain("10000 messages to queue abandoned").And.Contain($": {stored} were sent");
        warning.Should().MatchRegex(@", and \d+ under way then may have been stored all the same$", "the line ends in a whole sentence");
        stored.Should().BeLessThan(10_000, "the dispatch stopped when its caller left");
    }

    [Fact]
    public async Task Dispatch_to_an_existing_queue_does_not_create_it_again()
    {
        var first = await DispatchAsync(new { queue_name = "orders", body = "one" });

        var second = await DispatchAsync(new { queue_id = first.Queue.Id, body = "two" });

        second.QueueCreated.Should().BeFalse();
        second.Created.Should().Be(1);
        second.Queue.Id.Should().Be(first.Queue.Id);
        (await QueueSizeAsync("orders")).Should().Be(2);
    }

    [Fact]
    public async Task Dispatch_with_stub_sends_that_many_numbered_messages()
    {
        var result = await DispatchAsync(new { queue_name = "stubs", stub = 250 });

        result.QueueCreated.Should().BeTrue();
        result.Created.Should().Be(250);
        result.Messages.Should().HaveCount(250);
        result.Messages.Select(m => m.Id).Should().OnlyHaveUniqueItems();
        result.Failed.Should().BeEmpty();
        (await QueueSizeAsync("stubs")).Should().Be(250);
        var oldest = await BrokerClient.Client.PeekAsync(QueueRef.ByName("stubs"), size: 100);
        oldest.Should().AllSatisfy(m => StubBody().IsMatch(m.Body).Should().BeTrue(m.Body));
    }

    [Fact]
    public async Task Dispatch_without_body_or_stub_sends_one_stub()
    {
        var result = await DispatchAsync(new { queue_name = "single" });

        result.Messages.Should().ContainSingle();
        var message = (await BrokerClient.Client.PeekAsync(QueueRef.ByName("single"))).Single();
        message.Body.Should().StartWith("message #1 at ");
    }

    [Fact]
    public async Task Concurrent_dispatches_to_a_new_name_all_succeed_on_one_queue()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => DispatchAsync(new { queue_name = "raced", body = $"m{i}" })));

        results.Select(r => r.Queue.Id).Distinct().Should().ContainSingle();
        results.Count(r => r.QueueCreated).Should().Be(1);
        results.Should().AllSatisfy(r => r.Failed.Should().BeEmpty());
        (await QueueSizeAsync("raced")).Should().Be(8);
    }

    [Theory]
    [InlineData("""{"body": "x"}""", "queue_id")]
    [InlineData("""{"queue_name": "bad name!", "body": "x"}""", "queue_name")]
    [InlineData("""{"queue_name": "12345", "body": "x"}""", "queue_name")]
    [InlineData("""{"queue_name": "orders", "stub": 10001}""", "stub")]
    [InlineData("""{"queue_name": "orders", "stub": 0}""", "stub")]
    [InlineData("""{"queue_name": "orders", "body": ""}""", "body")]
    public async Task Dispatch_with_bad_input_is_a_400_naming_the_field(string json, string field)
    {
        using var response = await Http.PostAsync("/dispatch", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        problem.GetProperty("errors").TryGetProperty(field, out _).Should().BeTrue(problem.ToString());
    }

    [Theory]
    [InlineData("""{"queue_name": "orders", "stub": "many"}""")]
    [InlineData("""{"queue_name": "orders",""")]
    public async Task Dispatch_with_unreadable_json_is_a_400(string json)
    {
        using var response = await Http.PostAsync("/dispatch", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
    }

    [Fact]
    public async Task Dispatch_with_a_body_over_the_limit_is_a_413_naming_it()
    {
        using var response = await Http.PostAsJsonAsync("/dispatch", new { queue_name = "orders", body = new string('x', 300 * 1024) }, WonderQJson.Options);

        response.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString().Should().Contain("Limits:MaxMessageBytes");
    }

    [Fact]
    public async Task Dispatch_to_an_unknown_id_is_a_404()
    {
        using var response = await Http.PostAsJsonAsync("/dispatch", new { queue_id = 999, body = "x" }, WonderQJson.Options);

        response.StatusCode.Should().Be(HttpStatusCode.NotFound);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
    }

    [Fact]
    public async Task Dispatch_to_an_unknown_id_beside_a_new_name_is_a_404_and_creates_no_queue()
    {
        using var response = await Http.PostAsJsonAsync("/dispatch", new { queue_id = 999, queue_name = "named-beside-an-id", body = "x" }, WonderQJson.Options);

        response.StatusCode.Should().Be(HttpStatusCode.NotFound, "only a name given alone is created");
        (await BrokerClient.Client.ListQueuesAsync()).Should().NotContain(q => q.Name == "named-beside-an-id");
    }

    [Fact]
    public async Task Dispatch_to_a_new_name_on_a_broker_at_its_queue_limit_is_its_422_and_sends_nothing()
    {
        await using var broker = await KestrelBroker.StartAsync("--Limits:MaxQueues=1");
        await using var app = new UserAppFactory(broker.Url, new Dictionary<string, string>());
        using var http = app.CreateClient();
        (await DispatchToAsync(http, new { queue_name = "first", body = "fits" })).QueueCreated.Should().BeTrue();

        using var response = await http.PostAsJsonAsync("/dispatch", new { queue_name = "second", stub = 5 }, WonderQJson.Options);

        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.UnprocessableEntity, text);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        JsonDocument.Parse(text).RootElement.GetProperty("detail").GetString().Should().Contain("Limits:MaxQueues");
        JsonDocument.Parse(text).RootElement.GetProperty("type").GetString().Should().Be(
            "https://tools.ietf.org/html/rfc9110#section-15.5.21", "the broker's 422 names HTTP's RFC, not WebDAV's");
        using var peers = new TestBrokerClient(broker.Url);
        (await peers.Client.ListQueuesAsync()).Should().ContainSingle().Which.Name.Should().Be("first");
        (await DispatchToAsync(http, new { queue_name = "first", body = "still fits" })).Created.Should().Be(1, "a queue that exists still takes messages");
    }

    [GeneratedRegex(@"^message #\d+ at \d{13}$")]
    private static partial Regex StubBody();
    private static async Task<DispatchResponse> DispatchToAsync(HttpClient http, object request)
    {
        using var response = await http.PostAsJsonAsync("/dispatch", request, WonderQJson.Options);
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<DispatchResponse>(WonderQJson.Options))!;
    }

    private static bool IsSend(HttpRequestMessage request) =>
        request.Method == HttpMethod.Post && request.RequestUri!.AbsolutePath.EndsWith("/messages", StringComparison.Ordinal);

    private static HttpResponseMessage Busy() => new(HttpStatusCode.ServiceUnavailable)
    {
        Content = new StringContent("""{"status":503,"title":"The broker is busy.","detail":"Try again."}""", System.Text.Encoding.UTF8, "application/problem+json"),
    };

    private static HttpResponseMessage TooLarge(string detail) => new(HttpStatusCode.RequestEntityTooLarge)
    {
        Content = new StringContent($$"""{"status":413,"title":"Message too large.","detail":"{{detail}}"}""", System.Text.Encoding.UTF8, "application/problem+json"),
    };

    private sealed class StoppingLifetime : IHostApplicationLifetime, IDisposable
    {
        private readonly CancellationTokenSource _stopping = new();

        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => _stopping.Token;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void Stop() => _stopping.Cancel();

        public void StopApplication() => Stop();

        public void Dispose() => _stopping.Dispose();
    }
}

public class DispatchWithoutBrokerTests
{
    [Fact]
    public async Task Dispatch_when_the_broker_is_unreachable_is_a_503_problem()
    {
        await using var app = new UserAppFactory(FreePort.Url(FreePort.Next()), new Dictionary<string, string> { ["Broker:MaxRetries"] = "1" });
        using var http = app.CreateClient();

        using var response = await http.PostAsJsonAsync("/dispatch", new { queue_name = "orders", body = "x" }, WonderQJson.Options);

        response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        problem.GetProperty("detail").GetString().Should().Contain("did not answer");
    }

    [Fact]
    public async Task Listen_when_the_broker_is_unreachable_is_a_503_problem()
    {
        await using var app = new UserAppFactory(FreePort.Url(FreePort.Next()), new Dictionary<string, string> { ["Broker:MaxRetries"] = "1" });
        using var http = app.CreateClient();

        using var response = await http.GetAsync("/listen?queue_name=orders");

        response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
    }
}

/// <summary>Broker:Url points at a server that is not a WonderQ broker: its 404 page must not read as "no such queue".</summary>
public class DispatchToSomethingElseTests : IAsyncLifetime
{
    private NotABroker _server = null!;
    private UserAppFactory _app = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _server = await NotABroker.StartAsync();
        _app = new UserAppFactory(_server.Url, new Dictionary<string, string> { ["Broker:MaxRetries"] = "2" });
        _http = _app.CreateClient();
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _app.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Theory]
    [InlineData("""{"queue_id":7,"body":"x"}""")]
    [InlineData("""{"queue_name":"orders","body":"x"}""")]
    public async Task Dispatch_is_a_502_naming_the_broker_url_not_a_missing_queue(string request)
    {
        using var content = new StringContent(request, System.Text.Encoding.UTF8, "application/json");
        using var response = await _http.PostAsync("/dispatch", content);

        await ShouldBeNotABrokerProblemAsync(response);
    }

    [Fact]
    public async Task Listen_is_a_502_naming_the_broker_url_not_a_missing_queue()
    {
        using var response = await _http.GetAsync("/listen?queue_name=orders");

        await ShouldBeNotABrokerProblemAsync(response);
    }

    private async Task ShouldBeNotABrokerProblemAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.BadGateway, text);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        var detail = JsonDocument.Parse(text).RootElement.GetProperty("detail").GetString();
        detail.Should().Contain(_server.Url.GetLeftPart(UriPartial.Authority)).And.Contain("404").And.Contain("text/html").And.Contain("Broker:Url")
            .And.NotContain("There is no queue");
        _server.Requests.Should().Be(1, "an answer that is not the broker's is not retried, and nothing follows it");
    }
}
