using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace WonderQ.Broker.Tests.Web;

/// <summary>
/// The broker's OpenAPI document as a client generator or a validating proxy reads it: what it says of a request and
/// of an answer is what the broker does.
/// </summary>
public sealed class OpenApiTests(SharedBroker broker) : IClassFixture<SharedBroker>
{
    private readonly HttpClient _client = broker.Client;

    /// <summary>
    /// A document that forbids members the answers carry makes a strict client throw on every error it gets: the JSON
    /// options refuse unknown members in a request, and the generator wrote that into the problem schemas too.
    /// </summary>
    [Theory]
    [InlineData("DELETE", "/messages/{id}", "/messages/999999999", null, "404")] // carries success: false
    [InlineData("DELETE", "/queues/{queue}", "/queues/no-such-queue", null, "404")]
    [InlineData("GET", "/queues/find", "/queues/find", null, "400")]
    [InlineData("POST", "/messages", "/messages", """{"queue_name":"no-such-queue","body":"x"}""", "404")]
    [InlineData("POST", "/queues", "/queues", """{"name":"123"}""", "400")]
    public async Task Every_member_of_an_error_the_broker_writes_is_one_its_documented_schema_allows(
        string method, string template, string path, string? json, string status)
    {
        var document = await DocumentAsync();
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = json is null ? null : Wire.Json(json) };
        using var response = await _client.SendAsync(request);
        var problem = await response.ShouldBeProblemAsync((HttpStatusCode)int.Parse(status));

        var schema = Resolve(document, document.GetProperty("paths").GetProperty(template).GetProperty(method.ToLowerInvariant())
            .GetProperty("responses").GetProperty(status).GetProperty("content").GetProperty("application/problem+json").GetProperty("schema"));
        var declared = schema.GetProperty("properties").EnumerateObject().Select(p => p.Name).ToHashSet();
        var closed = schema.TryGetProperty("additionalProperties", out var extra) && extra.ValueKind == JsonValueKind.False;

        problem.PropertyNames().Should().Contain("trace_id");
        declared.Should().Contain("trace_id", "every problem carries it");
        if (closed)
        {
            problem.PropertyNames().Should().BeSubsetOf(declared);
        }
    }

    /// <summary>
    /// A send's and a delete's answers are written by the broker itself rather than by ASP.NET Core's typed results
    /// (JsonAnswer): the document still declares them, and each carries exactly the members its declared schema names.
    /// </summary>
    [Fact]
    public async Task A_send_s_201_and_a_delete_s_200_are_documented_with_the_members_they_carry()
    {
        var document = await DocumentAsync();
        var queue = await _client.CreateQueueAsync();
        using var sent = await _client.PostAsync("/messages", Wire.Json(new { queue_id = queue.Id, body = "documented" }));
        var sentJson = await sent.ReadJsonAsync();
        using var deleted = await _client.DeleteAsync($"/messages/{sentJson.GetProperty("id").GetInt64()}");

        foreach (var (response, method, template, status) in new[] { (sent, "post", "/messages", "201"), (deleted, "delete", "/messages/{id}", "200") })
        {
            ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture).Should().Be(status, template);
            response.Content.Headers.ContentType!.ToString().Should().Be("application/json; charset=utf-8");
            response.Headers.Location.Should().BeNull();
            var schema = Resolve(document, document.GetProperty("paths").GetProperty(template).GetProperty(method)
                .GetProperty("responses").GetProperty(status).GetProperty("content").GetProperty("application/json").GetProperty("schema"));
            var answer = await response.ReadJsonAsync();
            answer.PropertyNames().Should().BeEquivalentTo(schema.GetProperty("properties").EnumerateObject().Select(p => p.Name), template);
        }

        (await deleted.ReadJsonAsync()).GetRawText().Should().Be("""{"success":true}""");
    }

    /// <summary>The pattern and lengths the document gives a queue's name accept exactly the names the broker creates.</summary>
    [Theory]
    [InlineData("orders", true)]
    [InlineData("Orders_2-b", true)]
    [InlineData("-", true)]
    [InlineData("0x1", true)]
    [InlineData("123", false)] // all digits reads as an id
    [InlineData("with space", false)]
    [InlineData("ördern", false)]
    [InlineData("a.b", false)]
    [InlineData("", false)]
    [InlineData(null, true)] // 80 characters
    [InlineData(null, false)] // 81
    public async Task A_queue_name_s_rules_in_the_document_are_the_broker_s(string? name, bool valid)
    {
        var field = (await DocumentAsync()).GetProperty("components").GetProperty("schemas")
            .GetProperty("CreateQueueRequest").GetProperty("properties").GetProperty("name");
        var (pattern, min, max) = (field.GetProperty("pattern").GetString()!, field.GetProperty("minLength").GetInt32(), field.GetProperty("maxLength").GetInt32());
        // A unique name of the length the case is about, so that no other test's queue makes it a 409.
        name ??= Guid.NewGuid().ToString("N").PadRight(valid ? max : max + 1, 'q');

        var documented = name.Length >= min && name.Length <= max && Regex.IsMatch(name, pattern, RegexOptions.ECMAScript);
        using var response = await _client.PostAsync("/queues", Wire.Json(new { name }));

        documented.Should().Be(valid, $"the document's rules ({pattern}, {min}–{max} characters) for '{name}'");
        response.StatusCode.Should().Be(valid ? HttpStatusCode.Created : HttpStatusCode.BadRequest, name);
    }

    [Fact]
    public async Task The_queue_name_a_consume_or_a_find_takes_has_the_same_rules_and_a_body_may_not_be_empty()
    {
        var document = await DocumentAsync();
        var created = document.GetProperty("components").GetProperty("schemas").GetProperty("CreateQueueRequest")
            .GetProperty("properties").GetProperty("name");

        foreach (var (path, name) in new[] { ("/messages/consume", "queue_name"), ("/queues/find", "name") })
        {
            var parameter = document.GetProperty("paths").GetProperty(path).GetProperty("get").GetProperty("parameters")
                .EnumerateArray().Single(p => p.GetProperty("name").GetString() == name);
            parameter.GetProperty("schema").GetProperty("pattern").GetString().Should().Be(created.GetProperty("pattern").GetString(), path);
            parameter.GetProperty("schema").GetProperty("maxLength").GetInt32().Should().Be(created.GetProperty("maxLength").GetInt32(), path);
        }

        document.GetProperty("components").GetProperty("schemas").GetProperty("SendMessageRequest").GetProperty("properties")
            .GetProperty("body").GetProperty("minLength").GetInt32().Should().Be(1);
        using var empty = await _client.PostAsync("/messages", Wire.Json("""{"queue_name":"orders","body":""}"""));
        empty.StatusCode.Should().Be(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task The_403_a_consume_from_another_origin_s_page_gets_is_declared_as_the_problem_it_is()
    {
        var document = await DocumentAsync();
        var queue = await _client.CreateQueueAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/messages/consume?queue_id={queue.Id}&wait_time=0");
        request.Headers.Add("Sec-Fetch-Site", "cross-site");

        using var response = await _client.SendAsync(request);

        await response.ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        document.GetProperty("paths").GetProperty("/messages/consume").GetProperty("get").GetProperty("responses")
            .TryGetProperty("403", out var declared).Should().BeTrue("a generated client should know the answer it can get");
        declared.GetProperty("content").TryGetProperty("application/problem+json", out _).Should().BeTrue();
    }

    [Theory]
    [InlineData("/queues/{queue}/messages", "get")]
    [InlineData("/queues/{queue}", "delete")]
    public async Task A_queue_segment_is_documented_as_an_id_or_a_name_with_their_characters(string path, string method)
    {
        var parameter = (await DocumentAsync()).GetProperty("paths").GetProperty(path).GetProperty(method).GetProperty("parameters")
            .EnumerateArray().Single(p => p.GetProperty("name").GetString() == "queue");
        var pattern = parameter.GetProperty("schema").GetProperty("pattern").GetString()!;

        parameter.GetProperty("description").GetString().Should().Contain("id").And.Contain("name");
        foreach (var (segment, valid) in new[] { ("7", true), ("orders", true), ("0x1", true), ("a.b", false), ("with space", false), ("ördern", false) })
        {
            Regex.IsMatch(segment, pattern, RegexOptions.ECMAScript).Should().Be(valid, segment);
        }
    }

    /// <summary>
    /// The README's Broker API table is what a reader checks a client against, and the document what a generator
    /// builds one from: each operation's statuses, success and error, are the same in both.
    /// </summary>
    [Fact]
    public async Task Each_operation_declares_the_statuses_the_readme_s_table_gives_it()
    {
        var paths = (await DocumentAsync()).GetProperty("paths");

        var rows = ReadmeApiTable.Read("## Broker API");

        rows.Should().HaveCount(paths.EnumerateObject().Sum(p => p.Value.EnumerateObject().Count()), "a row for each operation");
        foreach (var row in rows)
        {
            var declared = paths.GetProperty(row.Path).GetProperty(row.Method.ToLowerInvariant()).GetProperty("responses")
                .EnumerateObject().Select(r => r.Name);
            declared.Should().BeEquivalentTo(row.Statuses, $"{row.Method} {row.Path}");
        }
    }

    private static JsonElement Resolve(JsonElement document, JsonElement schema) =>
        schema.TryGetProperty("$ref", out var reference)
            ? document.GetProperty("components").GetProperty("schemas").GetProperty(reference.GetString()!.Split('/')[^1])
            : schema;

    private async Task<JsonElement> DocumentAsync()
    {
        using var response = await _client.GetAsync("/openapi/v1.json");
        response.EnsureSuccessStatusCode();
        return (await response.ReadJsonAsync()).Clone();
    }
}
