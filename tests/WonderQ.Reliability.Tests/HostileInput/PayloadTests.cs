using System.Net;
using System.Text;
using FluentAssertions;
using WonderQ.Reliability.Tests.Support;

namespace WonderQ.Reliability.Tests.HostileInput;

/// <summary>
/// Content that is valid JSON but hostile as data (SQL, control characters) is stored and handed back verbatim;
/// content that is not valid (bad UTF-8, too large, thousands of parameters) is refused with a 4xx.
/// </summary>
public sealed class PayloadTests(BrokerFactory factory) : IClassFixture<BrokerFactory>
{
    public static TheoryData<string, string> VerbatimBodies() => new()
    {
        { "SQL", "'; DROP TABLE messages; --" },
        { "SQL in a string literal", "\" OR 1=1; DELETE FROM queues WHERE '1'='1" },
        { "control characters", "a\u0000b\u0001c\u001f\u007f\r\n\t" },
        { "HTML", "<script>alert('x')</script>" },
        { "JSON in a string", """{"body":"nested","queue_id":1}""" },
        { "not ASCII", "ünïcödé ✓ 日本語 🐇" },
        { "path", "../../../../etc/passwd" },
    };

    [Theory]
    [MemberData(nameof(VerbatimBodies))]
    public async Task Hostile_but_valid_body_is_stored_and_returned_verbatim(string name, string body)
    {
        // Arrange
        using var client = factory.CreateClient();
        var queue = Json.UniqueQueueName("verbatim");
        await client.CreateQueueAsync(queue);

        // Act
        var id = await client.SendAsync(queue, body);
        var messages = await client.ConsumeAsync(queue);

        // Assert
        messages.Should().ContainSingle(name).Which.Body.Should().Be(body, name);
        messages[0].Id.Should().Be(id);
        using var queues = await client.GetAsync("/queues");
        queues.StatusCode.Should().Be(HttpStatusCode.OK, "the tables are all still there");
    }

    [Theory]
    [InlineData("/queues", new byte[] { 0x7B, 0x22, 0x6E, 0x61, 0x6D, 0x65, 0x22, 0x3A, 0x22, 0xC3, 0x28, 0x22, 0x7D })]
    [InlineData("/queues", new byte[] { 0x7B, 0x22, 0x6E, 0x61, 0x6D, 0x65, 0x22, 0x3A, 0x22, 0xFF, 0xFE, 0x22, 0x7D })]
    [InlineData("/messages", new byte[] { 0x7B, 0x22, 0x62, 0x6F, 0x64, 0x79, 0x22, 0x3A, 0x22, 0xED, 0xA0, 0x80, 0x22, 0x7D })]
    [InlineData("/messages", new byte[] { 0x7B, 0x22, 0x62, 0x6F, 0x64, 0x79, 0x22, 0x3A, 0x22, 0xE2, 0x82, 0x22, 0x7D })]
    public async Task Invalid_UTF8_in_the_JSON_is_a_400(string path, byte[] bytes)
    {
        // Arrange
        using var client = factory.CreateClient();

        // Act
        using var response = await client.PostAsync(path, Json.Raw(bytes));

        // Assert
        await response.ShouldBeClientProblemAsync(HttpStatusCode.BadRequest);
        await client.ShouldStillServeAsync();
    }

    [Fact]
    public async Task Lone_surrogate_escape_in_a_body_is_refused_or_kept_but_never_a_5xx()
    {
        // Arrange
        using var client = factory.CreateClient();
        var queue = Json.UniqueQueueName("surrogate");
        await client.CreateQueueAsync(queue);

        // Act
        using var response = await client.PostAsync("/messages", Json.Raw($$"""{"queue_name":"{{queue}}","body":"a\ud800b"}"""));

        // Assert
        if (response.StatusCode != HttpStatusCode.Created)
        {
            await response.ShouldBeClientProblemAsync(HttpStatusCode.BadRequest);
        }

        await client.ShouldStillServeAsync();
    }

    [Fact]
    public async Task Message_over_the_body_limit_is_a_413_naming_the_limit()
    {
        // Arrange
        using var client = factory.CreateClient();
        var queue = Json.UniqueQueueName("big");
        await client.CreateQueueAsync(queue);
        var body = new string('b', 256 * 1024 + 1);

        // Act
        using var response = await client.PostAsync("/messages", Json.Raw($$"""{"queue_name":"{{queue}}","body":"{{body}}"}"""));

        // Assert
        var problem = await response.ShouldBeClientProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        problem.GetProperty("detail").GetString().Should().Contain("Limits:MaxMessageBytes");
        await client.ShouldStillServeAsync();
    }

    [Fact]
    public async Task Message_at_the_body_limit_in_multibyte_characters_is_counted_in_UTF8_bytes()
    {
        // Arrange: 87382 three-byte characters are 262146 bytes, just over 256 KiB, though only 87382 chars.
        using var client = factory.CreateClient();
        var queue = Json.UniqueQueueName("utf8");
        await client.CreateQueueAsync(queue);
        var body = new string('€', 87_382);

        // Act
        using var response = await client.PostAsync("/messages", Json.Raw($$"""{"queue_name":"{{queue}}","body":"{{body}}"}"""));

        // Assert
        await response.ShouldBeClientProblemAsync(HttpStatusCode.RequestEntityTooLarge);
    }

    [Theory]
    [InlineData("/queues")]
    [InlineData("/messages")]
    public async Task Request_body_over_the_request_limit_is_a_413(string path)
    {
        // Arrange: 3 MiB against the 2 MiB Limits:MaxRequestBodyBytes, declared in Content-Length.
        using var client = factory.CreateClient();
        var padding = new string('x', 3 * 1024 * 1024);

        // Act
        using var response = await client.PostAsync(path, Json.Raw($$"""{"body":"{{padding}}"}"""));

        // Assert
        var problem = await response.ShouldBeClientProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        problem.GetProperty("detail").GetString().Should().Contain("Limits:MaxRequestBodyBytes");
        await client.ShouldStillServeAsync();
    }

    [Fact]
    public async Task Thousands_of_unknown_query_parameters_are_a_400_naming_the_first()
    {
        // Arrange
        using var client = factory.CreateClient();
        var queue = Json.UniqueQueueName("params");
        await client.CreateQueueAsync(queue);
        var junk = string.Join('&', Enumerable.Range(0, 5_000).Select(i => $"p{i}={i}"));

        // Act
        using var response = await client.GetAsync($"/messages/consume?queue_name={queue}&wait_time=0&{junk}");

        // Assert
        var problem = await response.ShouldBeClientProblemAsync(HttpStatusCode.BadRequest);
        problem.GetProperty("errors").EnumerateObject().Select(e => e.Name).Should().Equal("p0");
        await client.ShouldStillServeAsync();
    }

    [Theory]
    [InlineData("size")]
    [InlineData("queue_id")]
    [InlineData("wait_time")]
    public async Task Thousands_of_repeats_of_one_query_parameter_are_a_400_or_ignored_never_a_5xx(string parameter)
    {
        // Arrange
        using var client = factory.CreateClient();
        var queue = Json.UniqueQueueName("repeat");
        await client.CreateQueueAsync(queue);
        var repeats = string.Join('&', Enumerable.Range(0, 3_000).Select(i => $"{parameter}={i % 10}"));

        // Act
        using var response = await client.GetAsync($"/messages/consume?queue_name={queue}&wait_time=0&{repeats}");

        // Assert
        if (response.StatusCode != HttpStatusCode.OK)
        {
            await response.ShouldBeClientProblemAsync();
        }

        await client.ShouldStillServeAsync();
    }

    [Fact]
    public async Task Error_answers_stay_problem_json_when_the_client_accepts_only_html()
    {
        // Arrange
        using var client = factory.CreateClient();
        client.DefaultRequestHeaders.Accept.ParseAdd("text/html");

        // Act
        using var badJson = await client.PostAsync("/queues", Json.Raw("{\"name\":"));
        using var noRoute = await client.GetAsync("/nope");
        using var invalid = await client.GetAsync("/messages/consume?wait_time=0");

        // Assert
        await badJson.ShouldBeClientProblemAsync(HttpStatusCode.BadRequest);
        await noRoute.ShouldBeClientProblemAsync(HttpStatusCode.NotFound);
        await invalid.ShouldBeClientProblemAsync(HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("application/json; charset=\"UTF-8\"", null)] // RFC 9110 allows a parameter's value quoted or not
    [InlineData("application/json; charset=utf8", null)]
    [InlineData("application/json; charset=csUTF8", null)] // IANA's name for it
    [InlineData("application/json", "identity")]
    [InlineData("application/json", "identity, identity")]
    [InlineData("application/json", "Identity")] // RFC 9110 (8.4.1): codings are named without regard to case
    [InlineData("application/json", "")] // an empty list: no coding
    public async Task Body_labelled_UTF8_in_any_of_its_spellings_and_without_a_coding_is_read(string contentType, string? contentEncoding)
    {
        // Arrange
        using var client = factory.CreateClient();
        var name = Json.UniqueQueueName("labelled");
        var content = Json.Raw(Encoding.UTF8.GetBytes($$"""{"name":"{{name}}"}"""), contentType);
        if (contentEncoding is not null)
        {
            content.Headers.TryAddWithoutValidation("Content-Encoding", contentEncoding);
        }

        // Act
        using var response = await client.PostAsync("/queues", content);

        // Assert
        response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        (await response.Content.ReadAsStringAsync()).Should().Contain(name);
    }

    [Theory]
    [InlineData("utf-16")]
    [InlineData("utf-32")]
    [InlineData("iso-8859-1")]
    public async Task Body_in_a_charset_other_than_UTF8_is_refused_naming_it_and_nothing_is_stored(string charset)
    {
        // Arrange: a body that other charset could only decode by replacing what it cannot read ('?', U+FFFD),
        // which would store a message other than the one sent.
        using var client = factory.CreateClient();
        var queue = Json.UniqueQueueName("charset");
        await client.CreateQueueAsync(queue);
        var encoding = Encoding.GetEncoding(charset);
        var bytes = encoding.GetBytes($$"""{"queue_name":"{{queue}}","body":"caf""").Concat(new byte[] { 0xFF, 0xFE, 0xFF, 0xFE })
            .Concat(encoding.GetBytes("\"}")).ToArray();

        // Act
        using var response = await client.PostAsync("/messages", Json.Raw(bytes, $"application/json; charset={charset}"));

        // Assert
        var problem = await response.ShouldBeClientProblemAsync(HttpStatusCode.UnsupportedMediaType);
        problem.GetProperty("detail").GetString().Should().Contain($"charset={charset}").And.Contain("UTF-8");
        (await client.ConsumeAsync(queue)).Should().BeEmpty("a refused body is not stored");
    }

    [Fact]
    public async Task Body_labelled_US_ASCII_is_read_as_UTF8_so_a_byte_past_ASCII_is_kept_or_refused_but_never_replaced()
    {
        // Arrange
        using var client = factory.CreateClient();
        var queue = Json.UniqueQueueName("ascii");
        await client.CreateQueueAsync(queue);

        // Act
        using var sent = await client.PostAsync(
            "/messages", Json.Raw(Encoding.UTF8.GetBytes($$"""{"queue_name":"{{queue}}","body":"café"}"""), "application/json; charset=us-ascii"));
        using var invalid = await client.PostAsync(
            "/messages",
            Json.Raw([.. Encoding.ASCII.GetBytes($$"""{"queue_name":"{{queue}}","body":"hi"""), 0xE9, 0xFF, .. "\"}"u8], "application/json; charset=us-ascii"));

        // Assert
        sent.StatusCode.Should().Be(HttpStatusCode.Created, await sent.Content.ReadAsStringAsync());
        await invalid.ShouldBeClientProblemAsync(HttpStatusCode.BadRequest);
        (await client.ConsumeAsync(queue)).Should().ContainSingle().Which.Body.Should().Be("café");
    }

    [Fact]
    public async Task Compressed_body_is_refused_naming_the_content_encoding_and_nothing_is_stored()
    {
        // Arrange
        using var client = factory.CreateClient();
        var queue = Json.UniqueQueueName("gzip");
        await client.CreateQueueAsync(queue);
        var content = Json.Raw($$"""{"queue_name":"{{queue}}","body":"plain, though labelled gzip"}""");
        content.Headers.ContentEncoding.Add("gzip");

        // Act
        using var response = await client.PostAsync("/messages", content);

        // Assert
        var problem = await response.ShouldBeClientProblemAsync(HttpStatusCode.UnsupportedMediaType);
        problem.GetProperty("detail").GetString().Should().Contain("Content-Encoding: gzip");
        (await client.ConsumeAsync(queue)).Should().BeEmpty();
    }

    [Theory]
    [InlineData("/healthz")]
    [InlineData("/queues")]
    public async Task Request_without_a_body_is_not_judged_by_its_content_type_charset(string path)
    {
        // Arrange: a probe or client that labels every request the same way, body or not
        using var client = factory.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, path) { Content = Json.Raw([], "application/json; charset=bogus") };

        // Act
        using var response = await client.SendAsync(request);

        // Assert
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }
}
