using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using WonderQ.Shared.Contracts;
using WonderQ.Shared.Json;
using WonderQ.UserApp.Dispatch;
using WonderQ.UserApp.Tests.Infrastructure;

namespace WonderQ.UserApp.Tests.Web;

/// <summary>
/// What the server at Broker:Url says (a problem's detail or title, a queue's name, an answer its parser quotes) is
/// whatever it chooses: the UserApp's log writes it escaped, as stdout does a message's body, so its line breaks and
/// terminal escapes cannot forge a line or repaint the terminal. Its answers pass it on as it came, JSON-encoded.
/// </summary>
public sealed class BrokerWordsInTheLogTests : IAsyncLifetime
{
    private const string Forged = "Busy.\nError: forged line\r\u001b[31mred\u0085";
    private const string Escaped = @"Busy.\nError: forged line\r\u001b[31mred\u0085";

    private static readonly string[] _raw = ["\n", "\r", "\u001b", "\u0085"];

    // No broker at all: every call is answered by the test, so nothing is ever asked of this name, which none resolves.
    private readonly UserAppFactory _app = new(new Uri("http://broker.invalid/"), new Dictionary<string, string> { ["Broker:MaxRetries"] = "0" });
    private HttpClient _http = null!;

    public Task InitializeAsync()
    {
        _http = _app.CreateClient();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _app.DisposeAsync();
    }

    [Fact]
    public async Task A_consume_the_broker_turns_away_is_warned_of_with_its_detail_escaped()
    {
        _app.BrokerRequest = request => request.RequestUri!.AbsolutePath switch
        {
            "/queues/find" => QueueAnswer("orders"),
            _ => ProblemAnswer(503, "Unavailable.", Forged),
        };

        using var started = await _http.GetAsync("/listen?queue_id=7&wait_time=1");

        started.StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await LineAsync("could not consume")).Should().Contain(Escaped).And.NotContainAny(_raw);
    }

    [Fact]
    public async Task A_consume_the_broker_refuses_for_good_is_logged_with_its_title_escaped()
    {
        _app.BrokerRequest = request => request.RequestUri!.AbsolutePath switch
        {
            "/queues/find" => QueueAnswer("orders"),
            _ => ProblemAnswer(400, Forged, detail: null),
        };

        using var started = await _http.GetAsync("/listen?queue_id=7&wait_time=1");

        started.StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await LineAsync("refused its consume")).Should().Contain(Escaped).And.NotContainAny(_raw);
    }

    [Fact]
    public async Task An_acknowledgement_the_broker_turns_away_is_warned_of_with_its_detail_escaped()
    {
        _app.BrokerRequest = request => request.RequestUri!.AbsolutePath switch
        {
            "/queues/find" => QueueAnswer("orders"),
            "/messages/consume" => MessageAnswer(),
            _ => ProblemAnswer(503, "Unavailable.", Forged),
        };

        using var started = await _http.GetAsync("/listen?queue_id=7&wait_time=1");

        started.StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await LineAsync("could not delete message")).Should().Contain(Escaped).And.NotContainAny(_raw);
    }

    [Fact]
    public async Task A_queue_the_broker_names_with_control_characters_is_named_escaped_in_the_log()
    {
        _app.BrokerRequest = request => request.RequestUri!.AbsolutePath switch
        {
            "/queues/find" => QueueAnswer("orders\n\u001b[31mforged"),
            _ => ProblemAnswer(503, "Unavailable.", "The broker is busy."),
        };

        using var started = await _http.GetAsync("/listen?queue_id=7&wait_time=1");

        started.StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await LineAsync("could not consume")).Should().Contain(@"orders\n\u001b[31mforged").And.NotContainAny(_raw);
    }

    [Fact]
    public async Task An_acknowledgement_answer_no_broker_gives_stops_the_loop_with_what_its_parser_quotes_escaped()
    {
        // The parser's message names the property it was reading, as the answer spelled it.
        _app.BrokerRequest = request => request.RequestUri!.AbsolutePath switch
        {
            "/queues/find" => QueueAnswer("orders"),
            "/messages/consume" => MessageAnswer(),
            _ => new HttpResponseMessage(HttpStatusCode.OK)
            {
                Content = new StringContent("""{"forged\n\u001b[31m": tru}""", Encoding.UTF8, "application/json"),
            },
        };

        using var started = await _http.GetAsync("/listen?queue_id=7&wait_time=1");

        started.StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await LineAsync("failed and stopped")).Should().Contain(@"forged\n\u001b[31m").And.NotContainAny(_raw);
        _app.Logs.Exceptions.Should().NotContain(e => e.ToString().Contains('\u001b'), "a console log writes an exception's text after its line");
    }

    [Fact]
    public async Task A_send_the_broker_refuses_is_warned_of_escaped_and_answered_with_the_brokers_words_as_they_came()
    {
        _app.BrokerRequest = request => request.RequestUri!.AbsolutePath switch
        {
            "/queues/find" => QueueAnswer("orders\n\u001b[31mforged"),
            _ => ProblemAnswer(400, "Invalid.", Forged),
        };

        using var response = await _http.PostAsJsonAsync("/dispatch", new { queue_id = 7, body = "hello" }, WonderQJson.Options);

        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var answer = (await response.Content.ReadFromJsonAsync<DispatchResponse>(WonderQJson.Options))!;
        answer.Failed.Should().ContainSingle().Which.Error.Should().Be(Forged, "JSON carries them safely, and the caller reads what the broker said");
        _app.Logs.Lines.Should().ContainSingle().Which.Should().Contain(Escaped).And.Contain(@"orders\n\u001b[31mforged").And.NotContainAny(_raw);
    }

    [Fact]
    public async Task A_broker_outage_the_userapp_answers_503_for_is_logged_with_the_brokers_detail_escaped()
    {
        _app.BrokerRequest = _ => ProblemAnswer(503, "Unavailable.", Forged);

        using var response = await _http.GetAsync("/listen?queue_name=orders");

        response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString().Should().Contain(Forged);
        _app.Logs.Lines.Should().ContainSingle().Which.Should().Contain(Escaped).And.NotContainAny(_raw);
    }

    /// <summary>The first of the app's warnings and errors that says <paramref name="what"/>, once there is one.</summary>
    private Task<string> LineAsync(string what) =>
        Eventually.ValueAsync(
            () => _app.Logs.Lines.FirstOrDefault(line => line.Contains(what, StringComparison.Ordinal)),
            line => line is not null,
            $"the log says '{what}'")!;

    private static HttpResponseMessage QueueAnswer(string name) =>
        JsonAnswer(HttpStatusCode.OK, new QueueDto(7, name, DateTimeOffset.UnixEpoch), "application/json");

    private static HttpResponseMessage MessageAnswer() =>
        JsonAnswer(HttpStatusCode.OK, new[] { new MessageDto(1, 7, "hello", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, "token", 1) }, "application/json");

    private static HttpResponseMessage ProblemAnswer(int status, string title, string? detail) =>
        JsonAnswer((HttpStatusCode)status, new { status, title, detail }, "application/problem+json");

    private static HttpResponseMessage JsonAnswer(HttpStatusCode status, object body, string contentType) =>
        new(status) { Content = new StringContent(JsonSerializer.Serialize(body, WonderQJson.Options), Encoding.UTF8, contentType) };
}
