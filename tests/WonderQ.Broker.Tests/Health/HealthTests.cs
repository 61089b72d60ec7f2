using System.Net;
using System.Net.Http.Headers;
using Microsoft.Data.Sqlite;

namespace WonderQ.Broker.Tests.Health;

public sealed class HealthTests(SharedBroker broker) : IClassFixture<SharedBroker>
{
    private readonly HttpClient _client = broker.Client;

    [Fact]
    public async Task Healthz_returns_200_when_the_store_answers()
    {
        using var response = await _client.GetAsync("/healthz");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.ReadJsonAsync()).GetProperty("status").GetString().Should().Be("ok");
    }

    [Fact]
    public async Task Healthz_is_a_503_problem_when_the_database_file_is_no_longer_a_database()
    {
        await using var app = new BrokerApplication();
        using var client = app.CreateClient();
        using (var healthy = await client.GetAsync("/healthz"))
        {
            healthy.StatusCode.Should().Be(HttpStatusCode.OK, "the broker's reader connection is open and pooled before the file breaks");
        }

        OverwriteInPlace(app.DatabasePath);
        using var response = await client.GetAsync("/healthz");

        // A 503, so a load balancer takes the broker out of rotation.
        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable);
        problem.GetProperty("detail").GetString().Should().Contain("store");
    }

    [Fact]
    public async Task Healthz_503_carries_the_configured_Retry_After_as_the_broker_s_other_503s_do()
    {
        await using var app = new BrokerApplication(settings: new Dictionary<string, string> { ["Outages:RetryAfterSeconds"] = "7" });
        using var client = app.CreateClient();
        using (var healthy = await client.GetAsync("/healthz"))
        {
            healthy.StatusCode.Should().Be(HttpStatusCode.OK);
            healthy.Headers.RetryAfter.Should().BeNull("only a 503 says when to try again");
        }

        OverwriteInPlace(app.DatabasePath);
        using var health = await client.GetAsync("/healthz");
        using var read = await client.GetAsync("/queues");

        await health.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable);
        await read.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable);
        health.Headers.RetryAfter.Should().Be(new RetryConditionHeaderValue(TimeSpan.FromSeconds(7)));
        read.Headers.RetryAfter.Should().Be(health.Headers.RetryAfter, "a monitor is told what a client is");
    }

    [Fact]
    public async Task OpenApi_document_lists_every_path()
    {
        using var response = await _client.GetAsync("/openapi/v1.json");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var paths = (await response.ReadJsonAsync()).GetProperty("paths").PropertyNames();
        paths.Select(p => p.TrimEnd('/')).Should().Contain(
            "/queues",
            "/queues/find",
            "/queues/{queue}/messages",
            "/queues/{queue}",
            "/messages",
            "/messages/consume",
            "/messages/{id}",
            "/healthz");
    }

    [Fact]
    public async Task OpenApi_document_types_the_numbers_the_api_takes_as_text_with_their_ranges()
    {
        using var response = await _client.GetAsync("/openapi/v1.json");

        var consume = (await response.ReadJsonAsync()).GetProperty("paths").GetProperty("/messages/consume").GetProperty("get");
        var parameters = consume.GetProperty("parameters").EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!, p => p.GetProperty("schema"));
        parameters["size"].GetProperty("type").GetString().Should().Be("integer");
        (parameters["size"].GetProperty("minimum").GetInt32(), parameters["size"].GetProperty("maximum").GetInt32()).Should().Be((1, 100));
        parameters["wait_time"].GetProperty("maximum").GetInt32().Should().Be(20);
        parameters["visibility_timeout"].GetProperty("type").GetString().Should().Be("integer");
        parameters["queue_id"].GetProperty("format").GetString().Should().Be("int64");
        parameters["queue_name"].GetProperty("type").GetString().Should().Be("string");
    }

    [Fact]
    public async Task OpenApi_document_requires_a_message_body_but_neither_queue_field_and_types_every_time()
    {
        using var response = await _client.GetAsync("/openapi/v1.json");

        var schemas = (await response.ReadJsonAsync()).GetProperty("components").GetProperty("schemas");
        var send = schemas.GetProperty("SendMessageRequest");
        send.GetProperty("required").EnumerateArray().Select(r => r.GetString()).Should().Equal("body");
        send.GetProperty("properties").GetProperty("body").GetProperty("type").GetString().Should().Be("string", "a null body is refused");
        var message = schemas.GetProperty("MessageDto").GetProperty("properties");
        message.GetProperty("created_at").GetProperty("type").GetString().Should().Be("string");
        message.GetProperty("retrievable_at").GetProperty("type").EnumerateArray().Select(t => t.GetString()).Should().BeEquivalentTo("string", "null");
    }

    [Fact]
    public async Task OpenApi_document_ranges_a_queue_id_in_a_body_as_in_a_query_string()
    {
        using var response = await _client.GetAsync("/openapi/v1.json");

        var send = (await response.ReadJsonAsync()).GetProperty("components").GetProperty("schemas").GetProperty("SendMessageRequest");
        send.GetProperty("properties").GetProperty("queue_id").GetProperty("minimum").GetInt64().Should().Be(1);
    }

    [Fact]
    public async Task A_document_other_than_v1_is_a_404_problem()
    {
        using var response = await _client.GetAsync("/openapi/v2.json");

        await response.ShouldBeProblemAsync(HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("/healthz", "get", "503")]
    [InlineData("/messages", "post", "415")]
    [InlineData("/queues", "post", "415")]
    [InlineData("/messages/consume", "get", "503")]
    [InlineData("/messages", "post", "503")] // a commit that fails: a full disk, say
    [InlineData("/messages/{id}", "delete", "503")]
    [InlineData("/queues", "post", "503")]
    [InlineData("/queues/{queue}", "delete", "503")]
    public async Task OpenApi_document_lists_the_errors_an_endpoint_can_answer(string path, string method, string status)
    {
        using var response = await _client.GetAsync("/openapi/v1.json");

        var paths = (await response.ReadJsonAsync()).GetProperty("paths");
        var operation = paths.EnumerateObject().Single(p => p.Name.TrimEnd('/') == path).Value.GetProperty(method);
        operation.GetProperty("responses").PropertyNames().Should().Contain(status);
    }

    /// <summary>
    /// Another file copied over the live database, as a mistaken <c>cp</c> or restore does: it writes into the same
    /// file, so the broker's open connections read the new bytes. Checkpointed first, as a file is once its broker has
    /// run a while; else the pages still in the write-ahead log would answer for the overwritten ones.
    /// </summary>
    private static void OverwriteInPlace(string path)
    {
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var checkpoint = connection.CreateCommand();
            checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
            using var result = checkpoint.ExecuteReader();
            result.Read().Should().BeTrue();
            result.GetInt64(0).Should().Be(0, "the idle broker holds no reader that would keep the log from being emptied");
        }

        // cp itself, not a .NET file API: on Unix those take a shared flock, which the broker's exclusive one on its
        // file refuses, where cp (as any native tool) takes none.
        var other = path + "-other.log";
        File.WriteAllText(other, "2026-12-01T11:00:00Z INFO a log line, not a database\n");
        try
        {
            using var cp = System.Diagnostics.Process.Start("cp", [other, path]);
            cp.WaitForExit();
            cp.ExitCode.Should().Be(0);
        }
        finally
        {
            File.Delete(other);
        }
    }
}
