using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using WonderQ.DevTool.Infrastructure;
using WonderQ.Shared.Client;
using WonderQ.Shared.Web;

namespace WonderQ.DevTool.Tests.Queues;

/// <summary>What the DevTool answers when the broker is gone or misbehaves: a problem+json that says so, never a 500.</summary>
public sealed class BrokerFailureTests
{
    [Theory]
    [InlineData("/queues")]
    [InlineData("/queues/orders")]
    public async Task A_broker_that_is_down_is_a_503_naming_its_url(string path)
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}/";
        await using var devTool = new DevToolApplication(brokerHandler: null, url);
        using var client = devTool.CreateClient();

        using var response = await client.GetAsync(path);

        var problem = await ProblemAssertions.ShouldBeProblemAsync(response, HttpStatusCode.ServiceUnavailable, url);
        problem.GetProperty("title").GetString().Should().Be("The broker is unreachable.");
    }

    [Fact]
    public async Task A_broker_that_answers_a_server_error_is_a_502()
    {
        await using var devTool = new DevToolApplication(() => new StubHandler(HttpStatusCode.InternalServerError,
            """{"status":500,"title":"An unexpected error occurred.","detail":"The broker could not complete the request.","trace_id":"0HNB4:00000007"}""",
            "application/problem+json"));
        using var client = devTool.CreateClient();

        using var response = await client.GetAsync("/queues");

        var problem = await ProblemAssertions.ShouldBeProblemAsync(response, HttpStatusCode.BadGateway, "answered with a server error");
        problem.GetProperty("detail").GetString().Should().NotContain("may have done it", "a list does nothing that repeating it would do twice")
            .And.Contain("check the broker's log for trace_id 0HNB4:00000007.");
        problem.GetProperty("broker_trace_id").GetString().Should().Be("0HNB4:00000007", "the broker's log names its failure by it");
        problem.GetProperty("trace_id").GetString().Should().NotBe("0HNB4:00000007", "the DevTool's own log names its answer by its own");
    }

    [Fact]
    public async Task A_send_whose_answers_were_lost_says_the_broker_may_have_stored_it()
    {
        // A proxy's error page in front of the broker: every attempt may have been stored behind it.
        await using var devTool = new DevToolApplication(() => new StubHandler(HttpStatusCode.BadGateway, "<html>502 Bad Gateway</html>", "text/html"));
        using var client = devTool.CreateClient();

        using var response = await client.PostAsJsonAsync("/messages", new { queue_name = "orders", body = "hello" });

        await ProblemAssertions.ShouldBeProblemAsync(response, HttpStatusCode.BadGateway, "may have done it all the same, its answer lost");
    }

    [Fact]
    public async Task A_send_whose_503_answers_are_cut_off_midway_is_a_503_that_says_it_may_be_stored_not_a_500()
    {
        // Arrange: every 503 ends before its Content-Length (a proxy or a broker that went away while writing it). The
        // client reads a send's 503 to learn whether it kept nothing, and that read takes the body off the connection.
        // The DevTool's one retry, as shipped: the second answer's is read by the check that a lost send is not tried a third time.
        await using var devTool = new DevToolApplication(
            () => new CutOffHandler(HttpStatusCode.ServiceUnavailable,
                """{"status":503,"title":"The message store is unavailable.","detail":"The broker's disk is full.","committed":false}"""),
            configure: web => web.UseSetting("Broker:MaxRetries", "1").UseSetting("Broker:RetryBaseDelay", "00:00:00.010"));
        using var client = devTool.CreateClient();

        // Act
        using var response = await client.PostAsJsonAsync("/messages", new { queue_name = "orders", body = "hello" });

        // Assert: what was read of it is not the broker's word that nothing was kept.
        await ProblemAssertions.ShouldBeProblemAsync(response, HttpStatusCode.ServiceUnavailable, "may have done it all the same, its answer lost");
    }

    [Fact]
    public async Task A_send_the_broker_refused_with_a_503_that_kept_nothing_is_not_said_to_be_perhaps_stored()
    {
        await using var devTool = new DevToolApplication(() => new StubHandler(HttpStatusCode.ServiceUnavailable,
            """{"status":503,"title":"The message store is unavailable.","detail":"The broker's disk is full. Try again later.","committed":false}""", "application/problem+json"));
        using var client = devTool.CreateClient();

        using var response = await client.PostAsJsonAsync("/messages", new { queue_name = "orders", body = "hello" });

        var problem = await ProblemAssertions.ShouldBeProblemAsync(response, HttpStatusCode.ServiceUnavailable, "disk is full");
        problem.GetProperty("detail").GetString().Should().NotContain("may have done it", "the broker said it kept nothing");
    }

    [Fact]
    public async Task A_broker_that_answers_503_is_a_503_with_its_reason_and_a_retry_after()
    {
        await using var devTool = new DevToolApplication(() => new StubHandler(HttpStatusCode.ServiceUnavailable,
            """{"status":503,"title":"Too many waiting consumers.","detail":"The broker is holding its maximum of 2 waiting consumers."}""",
            "application/problem+json"));
        using var client = devTool.CreateClient();

        using var response = await client.GetAsync("/queues");

        var problem = await ProblemAssertions.ShouldBeProblemAsync(response, HttpStatusCode.ServiceUnavailable, "maximum of 2 waiting consumers");
        problem.GetProperty("title").GetString().Should().Be("The broker is busy or unavailable.");
        response.Headers.RetryAfter.Should().NotBeNull();
        response.Headers.RetryAfter!.Delta.Should().BePositive("a 503 tells the caller when to try again");
    }

    [Fact]
    public async Task A_brokers_503_that_says_when_to_try_again_is_passed_on_without_a_second_try_again()
    {
        const string DiskFull = "The broker's disk is full: it cannot store or claim messages until space is freed. Try again later.";
        await using var devTool = new DevToolApplication(() => new StubHandler(HttpStatusCode.ServiceUnavailable,
            $$"""{"status":503,"title":"The message store is unavailable.","detail":"{{DiskFull}}"}""",
            "application/problem+json"));
        using var client = devTool.CreateClient();

        using var response = await client.GetAsync("/queues");

        var problem = await ProblemAssertions.ShouldBeProblemAsync(response, HttpStatusCode.ServiceUnavailable, DiskFull);
        problem.GetProperty("detail").GetString().Should().EndWith($"answered 503: {DiskFull}");
    }

    [Fact]
    public async Task A_broker_whose_database_file_was_deleted_is_passed_on_as_needing_a_restart_not_a_retry_shortly()
    {
        await using var broker = new BrokerApplication();
        await new BrokerClient(broker.CreateClient()).CreateQueueAsync("orders");
        File.Delete(broker.DatabasePath);
        await using var devTool = new DevToolApplication(() => broker.Server.CreateHandler());
        using var client = devTool.CreateClient();

        using var response = await client.PostAsJsonAsync("/messages", new { queue_name = "orders", body = "hello" });

        var problem = await ProblemAssertions.ShouldBeProblemAsync(response, HttpStatusCode.ServiceUnavailable, "must restart it");
        problem.GetProperty("detail").GetString().Should().NotContain(
            "Try again shortly", "no retry can succeed until the broker is restarted, so the page must not promise one");
    }

    [Theory]
    [InlineData("<html>not a broker</html>", "text/html")]
    [InlineData("[]", "application/json; charset=not-a-charset")]
    [InlineData("""[{"id":1,"queue_id":1,"body":"b","created_at":"yesterday","retrievable_at":null,"reservation_token":null,"receive_count":0}]""", "application/json")]
    [InlineData("""[{"id":1,"queue_id":1,"body":"b","created_at":12,"retrievable_at":null,"reservation_token":null,"receive_count":0}]""", "application/json")]
    public async Task Something_else_listening_at_the_broker_url_is_a_502(string answer, string contentType)
    {
        await using var devTool = new DevToolApplication(() => new StubHandler(HttpStatusCode.OK, answer, contentType));
        using var client = devTool.CreateClient();

        using var response = await client.GetAsync("/queues/orders");

        await ProblemAssertions.ShouldBeProblemAsync(response, HttpStatusCode.BadGateway, "did not answer like a WonderQ broker");
    }

    [Theory]
    [InlineData("GET", "/queues", "null")]
    [InlineData("GET", "/queues", "[null]")]
    [InlineData("GET", "/queues", """[{"id":1,"name":null,"queue_size":0,"retrievable_size":0,"in_flight_size":0}]""")]
    [InlineData("GET", "/queues/orders", "[null]")]
    [InlineData("GET", "/queues/orders", """[{"id":1}]""")]
    [InlineData("POST", "/queues", "null")]
    [InlineData("POST", "/queues", """{"foo":1}""")]
    [InlineData("POST", "/messages", "null")]
    public async Task Something_else_answering_well_formed_json_that_is_no_wonderq_answer_is_a_502(string method, string path, string answer)
    {
        // Arrange: JSON's null, or an object without the members the broker always sends, reads without a JSON error.
        await using var devTool = new DevToolApplication(() => new StubHandler(HttpStatusCode.OK, answer, "application/json"));
        using var client = devTool.CreateClient();
        var body = path switch
        {
            "/queues" => """{"name":"orders"}""",
            _ => """{"queue_name":"orders","body":"hello"}""",
        };
        using var request = new HttpRequestMessage(new HttpMethod(method), path)
        {
            Content = method == "POST" ? new StringContent(body, Encoding.UTF8, "application/json") : null,
        };

        // Act
        using var response = await client.SendAsync(request);

        // Assert: not passed on as a queue with no name or a message with no body, nor a 201 with no body at all.
        await ProblemAssertions.ShouldBeProblemAsync(response, HttpStatusCode.BadGateway, "did not answer like a WonderQ broker");
    }

    [Theory]
    [InlineData("/queues")]
    [InlineData("/queues/orders")]
    public async Task Another_server_answering_404_html_at_the_broker_url_is_a_502_naming_it_not_a_404(string path)
    {
        // A real socket: what a mistyped Broker:Url reaches, say a python3 -m http.server.
        await using var server = await NotABroker.StartAsync();
        await using var devTool = new DevToolApplication(brokerHandler: null, server.Url.ToString());
        using var client = devTool.CreateClient();

        using var response = await client.GetAsync(path);

        var problem = await ProblemAssertions.ShouldBeProblemAsync(response, HttpStatusCode.BadGateway, server.Url.GetLeftPart(UriPartial.Authority));
        problem.GetProperty("detail").GetString().Should().Contain("404").And.Contain("text/html").And.Contain("Broker:Url");
    }

    [Fact]
    public async Task Another_wonderq_apps_no_endpoint_404_at_the_broker_url_is_a_502_not_a_queue_that_does_not_exist()
    {
        // What a UserApp or DevTool that does not know the broker client's Via answers: problem+json too, but "no such
        // endpoint", not "no such queue".
        await using var devTool = new DevToolApplication(() => new StubHandler(HttpStatusCode.NotFound,
            """{"status":404,"title":"Not found.","detail":"There is no endpoint at GET /queues/orders/messages; the README lists the API.","trace_id":"00-4bf9-01"}""",
            "application/problem+json"));
        using var client = devTool.CreateClient();

        using var response = await client.GetAsync("/queues/orders");

        var problem = await ProblemAssertions.ShouldBeProblemAsync(response, HttpStatusCode.BadGateway, "did not answer like a WonderQ broker");
        problem.GetProperty("detail").GetString().Should().Contain("There is no endpoint at GET /queues/orders/messages").And.Contain("Broker:Url");
        problem.TryGetProperty("broker_trace_id", out _).Should().BeFalse("the answer was not a broker's");
    }

    [Fact]
    public async Task Another_wonderq_app_at_the_broker_url_says_it_is_not_the_broker()
    {
        await using var other = new DevToolApplication(brokerHandler: null);
        await using var devTool = new DevToolApplication(() => other.Server.CreateHandler());
        using var client = devTool.CreateClient();

        using var response = await client.DeleteAsync("/queues/orders");

        var problem = await ProblemAssertions.ShouldBeProblemAsync(response, HttpStatusCode.BadGateway, "did not answer like a WonderQ broker");
        problem.GetProperty("detail").GetString().Should().Contain("This is the WonderQ DevTool, not the broker").And.Contain("Check Broker:Url");
    }

    [Fact]
    public async Task A_devtool_whose_broker_url_is_its_own_says_so_at_once_rather_than_ask_itself_until_it_times_out()
    {
        var port = FreePort.Next();
        // Timeouts far past the bound below, so that a loop ended by them cannot pass for an answer on a slow machine.
        await using var devTool = await KestrelApp.StartAsync(
            Program.CreateApp, port, [$"--Broker:Url=http://127.0.0.1:{port}", "--Broker:AttemptTimeout=00:00:30", "--Broker:TotalTimeout=00:00:30"]);
        using var client = devTool.CreateClient();
        var clock = System.Diagnostics.Stopwatch.StartNew();

        using var response = await client.GetAsync("/queues");

        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(10), "the DevTool's timeouts (30 s) are not what ends it");
        var problem = await ProblemAssertions.ShouldBeProblemAsync(response, HttpStatusCode.BadGateway, "did not answer like a WonderQ broker");
        problem.GetProperty("detail").GetString().Should().Contain("This is the WonderQ DevTool, not the broker");
    }

    [Fact]
    public async Task A_broker_that_refuses_the_devtools_api_key_is_a_502_that_says_which_setting_to_fix()
    {
        await using var devTool = new DevToolApplication(() => new StubHandler(HttpStatusCode.Unauthorized,
            """{"status":401,"title":"Unauthorized","detail":"Send 'Authorization: Bearer <key>'."}""", "application/problem+json"));
        using var client = devTool.CreateClient();

        using var response = await client.GetAsync("/queues");

        await ProblemAssertions.ShouldBeProblemAsync(response, HttpStatusCode.BadGateway, "Broker:ApiKey");
    }

    [Fact]
    public async Task A_broker_that_does_not_answer_the_devtools_name_for_it_is_a_502_naming_both_settings_not_the_callers_400()
    {
        // A real broker that answers only "localhost", called by the DevTool as 127.0.0.1.
        await using var broker = await KestrelBroker.StartAsync("--AllowedHosts=localhost");
        var logs = new LogLines(typeof(BrokerClient), typeof(ProblemExceptionHandler));
        await using var devTool = new DevToolApplication(brokerHandler: null, broker.Url.ToString(),
            builder => builder.ConfigureLogging(logging => logging.AddProvider(logs)));
        using var client = devTool.CreateClient();

        using var list = await client.GetAsync("/queues");
        using var create = await client.PostAsJsonAsync("/queues", new { name = "orders" });
        using var send = await client.PostAsJsonAsync("/messages", new { queue_name = "orders", body = "hello" });

        foreach (var response in new[] { list, create, send })
        {
            var problem = await ProblemAssertions.ShouldBeProblemAsync(response, HttpStatusCode.BadGateway, broker.Url.Authority);
            problem.GetProperty("title").GetString().Should().Be("The broker refused this app.");
            problem.GetProperty("detail").GetString().Should().Contain("Broker:Url").And.Contain("the broker's AllowedHosts")
                .And.NotContain("(Host): call it by", "that is the broker's word to its own caller, which the DevTool's caller is not");
        }

        logs.Lines.Where(line => !line.StartsWith("Information: Using the broker", StringComparison.Ordinal)).Should().ContainSingle(
            "one error says which setting to fix, not one line per request while the dashboard polls")
            .Which.Should().StartWith($"Error: The broker at {broker.Url} does not answer the name 127.0.0.1");
    }

    [Fact]
    public async Task A_broker_that_refuses_the_devtools_key_is_logged_once_as_an_error_and_once_when_it_takes_it_again()
    {
        await using var broker = await KestrelBroker.StartAsync("--Auth:ApiKeys:0=the-brokers-key");
        var logs = new LogLines(typeof(BrokerClient), typeof(ProblemExceptionHandler));
        await using var devTool = new DevToolApplication(brokerHandler: null, broker.Url.ToString(), builder =>
        {
            builder.UseSetting("Broker:ApiKey", "not-the-brokers-key");
            builder.ConfigureLogging(logging => logging.AddProvider(logs));
        });
        using var client = devTool.CreateClient();

        for (var poll = 0; poll < 3; poll++)
        {
            using var refused = await client.GetAsync("/queues");
            await ProblemAssertions.ShouldBeProblemAsync(refused, HttpStatusCode.BadGateway, "set Broker:ApiKey");
        }

        // The broker's operator gives it the DevTool's key.
        await broker.StopAsync();
        await using var rekeyed = await KestrelApp.StartAsync(
            WonderQ.Broker.Program.CreateApp, broker.Url.Port, [$"--Storage:Sqlite:Path={broker.DatabasePath}", "--Auth:ApiKeys:0=not-the-brokers-key"]);
        // Until then, a connection the old broker closed may still be tried once, a 503 the reachability log handles.
        await Eventually.ValueAsync(
            async () =>
            {
                using var response = await client.GetAsync("/queues");
                return response.StatusCode;
            },
            status => status == HttpStatusCode.OK, "the broker takes the key");

        logs.Lines.Where(line => !line.StartsWith("Information: Using the broker", StringComparison.Ordinal)).Should().SatisfyRespectively(
            refused => refused.Should().StartWith($"Error: The broker at {broker.Url} does not take this app's key (401): set Broker:ApiKey"),
            back => back.Should().Be($"Information: The broker at {broker.Url} takes this app's calls again."));
    }

    [Fact]
    public async Task The_brokers_own_refusals_of_the_callers_request_still_come_through_as_they_are()
    {
        await using var broker = await KestrelBroker.StartAsync("--Auth:ApiKeys:0=the-brokers-key");
        await using var devTool = new DevToolApplication(brokerHandler: null, broker.Url.ToString(),
            builder => builder.UseSetting("Broker:ApiKey", "the-brokers-key"));
        using var client = devTool.CreateClient();

        using var created = await client.PostAsJsonAsync("/queues", new { name = "orders" });
        using var again = await client.PostAsJsonAsync("/queues", new { name = "orders" });
        using var missing = await client.GetAsync("/queues/nowhere");

        created.StatusCode.Should().Be(HttpStatusCode.Created);
        var conflict = await ProblemAssertions.ShouldBeProblemAsync(again, HttpStatusCode.Conflict, "orders");
        await ProblemAssertions.ShouldBeProblemAsync(missing, HttpStatusCode.NotFound, "nowhere");
        conflict.GetProperty("broker_trace_id").GetString().Should().NotBeNullOrWhiteSpace()
            .And.NotBe(conflict.GetProperty("trace_id").GetString(), "it is the broker's answer's, not the DevTool's");
    }

    [Fact]
    public async Task A_broker_that_hangs_is_logged_once_as_unreachable_and_once_when_it_answers_again()
    {
        var broker = new HangingHandler { Hanging = false };
        var logs = new LogLines(typeof(BrokerReachabilityLog));
        await using var devTool = new DevToolApplication(() => broker, configure: builder =>
        {
            builder.UseSetting("Broker:AttemptTimeout", "00:00:00.200");
            builder.UseSetting("Broker:TotalTimeout", "00:00:00.200");
            builder.ConfigureLogging(logging => logging.AddProvider(logs));
        });
        using var client = devTool.CreateClient();
        // Answered once first: the answer after the outage must not be the first to run (and compile) that path
        // within a timeout this short, on a loaded machine.
        using var before = await client.GetAsync("/queues");
        before.EnsureSuccessStatusCode();
        broker.Hanging = true;

        for (var poll = 0; poll < 3; poll++)
        {
            using var hung = await client.GetAsync("/queues");
            hung.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        }

        broker.Hanging = false;
        using var answered = await client.GetAsync("/queues");

        answered.StatusCode.Should().Be(HttpStatusCode.OK);
        logs.Lines.Should().SatisfyRespectively(
            unreachable => unreachable.Should().StartWith("Warning: The broker at http://localhost/ is unreachable (no answer within 0.2 s)"),
            back => back.Should().Be("Information: The broker at http://localhost/ answers again."));
    }

    [Fact]
    public async Task A_broker_behind_a_path_is_named_with_it_in_the_503_and_in_the_log()
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}/wq";
        var logs = new LogLines(typeof(BrokerReachabilityLog));
        await using var devTool = new DevToolApplication(brokerHandler: null, url, builder => builder.ConfigureLogging(logging => logging.AddProvider(logs)));
        using var client = devTool.CreateClient();

        using var response = await client.GetAsync("/queues");

        // As the client calls it: a trailing slash keeps the path when request paths resolve against it.
        await ProblemAssertions.ShouldBeProblemAsync(response, HttpStatusCode.ServiceUnavailable, $"The broker at {url}/ is unreachable");
        logs.Lines.Should().ContainSingle().Which.Should().StartWith($"Warning: The broker at {url}/ is unreachable");
    }

    [Fact]
    public async Task A_broker_that_is_down_is_logged_once_however_often_the_dashboard_polls()
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}/";
        var logs = new LogLines(typeof(BrokerReachabilityLog), typeof(ProblemExceptionHandler));
        await using var devTool = new DevToolApplication(brokerHandler: null, url, builder =>
        {
            // Every outage line the exception handler would write, written: none of them may be about this outage.
            builder.UseSetting("Outages:LogInterval", "00:00:00");
            builder.ConfigureLogging(logging => logging.AddProvider(logs));
        });
        using var client = devTool.CreateClient();

        foreach (var path in new[] { "/queues", "/queues/orders", "/queues", "/queues" })
        {
            using var response = await client.GetAsync(path);
            response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        }

        logs.Lines.Should().ContainSingle()
            .Which.Should().StartWith($"Warning: The broker at {url} is unreachable");
    }

    [Fact]
    public async Task A_broker_that_answers_503_is_still_logged_by_the_devtool_as_an_outage()
    {
        var logs = new LogLines(typeof(ProblemExceptionHandler));
        await using var devTool = new DevToolApplication(() => new StubHandler(HttpStatusCode.ServiceUnavailable,
            """{"status":503,"title":"Too many waiting consumers.","detail":"The broker is holding its maximum of 2 waiting consumers."}""",
            "application/problem+json"), configure: builder =>
        {
            builder.UseSetting("Outages:LogInterval", "00:00:00");
            builder.ConfigureLogging(logging => logging.AddProvider(logs));
        });
        using var client = devTool.CreateClient();

        for (var poll = 0; poll < 2; poll++)
        {
            using var response = await client.GetAsync("/queues");
            response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        }

        logs.Lines.Should().HaveCount(2).And.AllSatisfy(line => line.Should().Contain("maximum of 2 waiting consumers"));
    }

    [Theory]
    [InlineData(503, """{"status":503,"title":"Busy.","detail":"Busy.\nError: forged line\r\u001b[31mred"}""", null,
        @"Busy.\nError: forged line\r\u001b[31mred")]
    [InlineData(500, """{"status":500,"title":"Failed.","detail":"Failed.\nError: forged line\r\u001b[31mred"}""", null,
        @"Failed.\nError: forged line\r\u001b[31mred")]
    [InlineData(500, """{"status":500,"title":"Failed.\nError: forged line\u001b[31m"}""", null, @"Failed.\nError: forged line\u001b[31m")]
    [InlineData(404, """{"status":404,"title":"Not found.","detail":"There is no endpoint at GET /queues.\nError: forged line\u001b[31m"}""", null,
        @"/queues.\nError: forged line\u001b[31m")]
    [InlineData(502, "<html>502</html>", "Bad\u001b[31m Gateway\u0085", @"Bad\u001b[31m Gateway\u0085")]
    public async Task The_brokers_words_in_a_logged_problem_are_escaped_so_they_cannot_forge_a_log_line(
        int status, string body, string? reasonPhrase, string escaped)
    {
        // Arrange: whatever answers at Broker:Url chooses its problem's detail and title, and its reason phrase.
        var logs = new LogLines(typeof(ProblemExceptionHandler));
        await using var devTool = new DevToolApplication(
            () => new StubHandler((HttpStatusCode)status, body, reasonPhrase is null ? "application/problem+json" : "text/html", reasonPhrase: reasonPhrase),
            configure: builder => builder.ConfigureLogging(logging => logging.AddProvider(logs)));
        using var client = devTool.CreateClient();

        // Act
        using var response = await client.GetAsync("/queues");

        // Assert: one line, in which the broker's line breaks and terminal escapes are written as escapes.
        ((int)response.StatusCode).Should().BeGreaterThanOrEqualTo(500);
        logs.Lines.Should().ContainSingle().Which.Should().Contain(escaped).And.NotContainAny("\n", "\r", "\u001b", "\u0085");
    }

    [Fact]
    public async Task An_http_error_that_quotes_the_brokers_bytes_is_logged_escaped()
    {
        // Arrange: SocketsHttpHandler's error for a header it cannot parse quotes the header as it came.
        var logs = new LogLines(typeof(BrokerReachabilityLog));
        await using var devTool = new DevToolApplication(
            () => new FailingHandler(new HttpRequestException("Received an invalid header name: 'X-Forged\u001b[2J\u001b[31m'.")),
            configure: builder => builder.ConfigureLogging(logging => logging.AddProvider(logs)));
        using var client = devTool.CreateClient();

        // Act
        using var response = await client.GetAsync("/queues");

        // Assert
        response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        logs.Lines.Should().ContainSingle().Which.Should().Contain(@"'X-Forged\u001b[2J\u001b[31m'").And.NotContain("\u001b");
    }

    [Fact]
    public async Task A_devtool_started_without_its_settings_file_is_as_quick_to_give_up_on_the_broker_as_with_it()
    {
        // Started with no appsettings.json to read, the DevTool runs on the defaults in its code, which
        // must be the file's: one retry within 6 s, so the page learns quickly that the broker is down.
        var folder = Directory.CreateTempSubdirectory("wonderq-devtool-");
        var attempts = 0;
        try
        {
            await using var devTool = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
            {
                builder.UseContentRoot(folder.FullName);
                builder.ConfigureServices(services => services.AddHttpClient<BrokerClient>().ConfigurePrimaryHttpMessageHandler(() => new StubHandler(
                    HttpStatusCode.ServiceUnavailable,
                    """{"status":503,"title":"The message store is unavailable.","detail":"Try again shortly."}""",
                    "application/problem+json",
                    () => Interlocked.Increment(ref attempts))));
            });
            using var client = devTool.CreateClient();

            using var response = await client.GetAsync("/queues");
            using var settings = await client.GetAsync("/dashboard/settings");

            response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
            Volatile.Read(ref attempts).Should().Be(2, "one try and the one retry of the DevTool's Broker:MaxRetries");
            (await settings.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("request_timeout_ms").GetInt32()
                .Should().Be(8000, "the page waits for the DevTool's Broker:TotalTimeout of 6 s, and 2 s more");
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_broker_that_stalls_after_its_headers_is_a_503_once_the_client_gives_up()
    {
        // The body is read after the resilience pipeline has returned, out of its timeouts' reach.
        await using var devTool = new DevToolApplication(() => new StallingBodyHandler(), configure: builder =>
        {
            builder.UseSetting("Broker:AttemptTimeout", "00:00:00.200");
            builder.UseSetting("Broker:TotalTimeout", "00:00:00.200");
        });
        using var client = devTool.CreateClient();

        using var response = await client.GetAsync("/queues").WaitAsync(TimeSpan.FromSeconds(30));

        await ProblemAssertions.ShouldBeProblemAsync(response, HttpStatusCode.ServiceUnavailable, "unreachable");
    }

    /// <summary>A broker that sends a 200's headers and then nothing of its body.</summary>
    private sealed class StallingBodyHandler : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(new StallingStream()) });

        private sealed class StallingStream : Stream
        {
            public override bool CanRead => true;

            public override bool CanSeek => false;

            public override bool CanWrite => false;

            public override long Length => throw new NotSupportedException();

            public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

            public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
                return 0;
            }

            public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
                ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

            public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

            public override void Flush()
            {
            }

            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

            public override void SetLength(long value) => throw new NotSupportedException();

            public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        }
    }

    /// <summary>A broker that accepts calls and, while hanging, never answers them.</summary>
    private sealed class HangingHandler : HttpMessageHandler
    {
        public volatile bool Hanging;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (Hanging)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("[]", Encoding.UTF8, "application/json") };
        }
    }

    /// <summary>What the loggers of the given categories write, as "Level: message".</summary>
    private sealed class LogLines(params Type[] categories) : ILoggerProvider
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public ILogger CreateLogger(string categoryName) =>
            categories.Any(c => c.FullName == categoryName) ? new Collector(Lines) : NullLogger.Instance;

        public void Dispose()
        {
        }

        private sealed class Collector(ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue($"{logLevel}: {formatter(state, exception)}");
        }
    }

    /// <summary>Answers every request with <paramref name="status"/> and a problem+json body cut off halfway.</summary>
    private sealed class CutOffHandler(HttpStatusCode status, string body) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(CutOffAnswer.Of(status, body));
    }

    private sealed class StubHandler(HttpStatusCode status, string body, string contentType, Action? called = null, string? reasonPhrase = null)
        : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            called?.Invoke();
            var response = new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, contentType.Split(';')[0]) };
            if (contentType.Contains(';'))
            {
                // A charset as given, which StringContent would replace with its own.
                response.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
            }

            if (reasonPhrase is not null)
            {
                response.ReasonPhrase = reasonPhrase;
            }

            return Task.FromResult(response);
        }
    }

    /// <summary>Fails every request with <paramref name="failure"/>, as SocketsHttpHandler does an answer it cannot read.</summary>
    private sealed class FailingHandler(Exception failure) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromException<HttpResponseMessage>(failure);
    }
}
