using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using WonderQ.Reliability.Tests.Support;
using WonderQ.Shared.Json;

namespace WonderQ.Reliability.Tests.Auth;

/// <summary>With <c>Auth:ApiKeys</c> set, every endpoint but /healthz needs <c>Authorization: Bearer &lt;key&gt;</c>.</summary>
public sealed class ApiKeyTests(AuthenticatedBroker broker) : IClassFixture<AuthenticatedBroker>
{
    public static TheoryData<string, string> Endpoints() => new()
    {
        { "GET", "/queues" },
        { "POST", "/queues" },
        { "GET", "/queues/find?name=anything" },
        { "GET", "/queues/anything/messages" },
        { "DELETE", "/queues/anything" },
        { "POST", "/messages" },
        { "GET", "/messages/consume?queue_name=anything&wait_time=0" },
        { "DELETE", "/messages/1" },
        { "GET", "/no-such-endpoint" },
    };

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Request_without_a_key_is_a_401_problem_with_a_bearer_challenge(string method, string path)
    {
        // Arrange
        using var client = broker.CreateClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST")
        {
            request.Content = JsonContent.Create(new { name = "unauthorized", queue_name = "unauthorized", body = "x" });
        }

        // Act
        using var response = await client.SendAsync(request);

        // Assert
        await response.ShouldBeClientProblemAsync(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.Should().ContainSingle().Which.Scheme.Should().Be("Bearer");
    }

    [Theory]
    [InlineData("Bearer wrong")]
    [InlineData("Bearer secret2")]
    [InlineData("Bearer secre")]
    [InlineData("Bearer ")]
    [InlineData("Basic c2VjcmV0OnNlY3JldA==")]
    [InlineData("secret")]
    [InlineData("Bearer\tsecret-but-tabbed")]
    public async Task Request_with_a_wrong_key_is_a_401(string authorization)
    {
        // Arrange
        using var client = broker.CreateClient();
        client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", authorization);

        // Act
        using var response = await client.GetAsync("/queues");

        // Assert
        await response.ShouldBeClientProblemAsync(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.Should().ContainSingle().Which.Scheme.Should().Be("Bearer");
    }

    [Theory]
    [InlineData(null, "This broker requires an API key")]
    [InlineData("Bearer wrong", "The Authorization header sent is not 'Bearer <key>' with one of this broker's keys")]
    [InlineData("Basic c2VjcmV0OnNlY3JldA==", "The Authorization header sent is not 'Bearer <key>' with one of this broker's keys")]
    public async Task A_wrong_key_is_told_apart_from_a_missing_one(string? authorization, string said)
    {
        // Arrange
        using var client = broker.CreateClient();
        if (authorization is not null)
        {
            client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", authorization);
        }

        // Act
        using var response = await client.GetAsync("/queues");

        // Assert
        var problem = await response.ShouldBeClientProblemAsync(HttpStatusCode.Unauthorized);
        problem.GetProperty("detail").GetString().Should().StartWith(said).And.NotContain("wrong");
    }

    [Theory]
    [InlineData("bearer")]
    [InlineData("BEARER")]
    public async Task The_scheme_is_matched_without_regard_to_case(string scheme)
    {
        // Arrange: RFC 9110 (11.1) makes an authentication scheme case-insensitive, and scripts often write it in lower case.
        using var client = broker.CreateClient();
        client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", $"{scheme} {AuthenticatedBroker.Key}");

        // Act
        using var response = await client.GetAsync("/queues");

        // Assert
        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Request_with_the_right_key_is_served()
    {
        // Arrange
        using var client = broker.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AuthenticatedBroker.Key);
        var queue = Json.UniqueQueueName("authorized");

        // Act
        using var created = await client.PostAsJsonAsync("/queues", new { name = queue }, WonderQJson.Options);
        using var listed = await client.GetAsync("/queues");

        // Assert
        created.StatusCode.Should().Be(HttpStatusCode.Created);
        listed.StatusCode.Should().Be(HttpStatusCode.OK);
        await client.ShouldStillServeAsync();
    }

    [Fact]
    public async Task Health_check_answers_without_a_key()
    {
        // Arrange
        using var client = broker.CreateClient();

        // Act
        using var response = await client.GetAsync("/healthz");

        // Assert
        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task OpenApi_document_asks_for_a_bearer_key_on_every_endpoint_but_the_health_check()
    {
        // Arrange
        using var client = broker.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AuthenticatedBroker.Key);

        // Act
        using var response = await client.GetAsync("/openapi/v1.json");

        // Assert
        var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        var scheme = document.GetProperty("components").GetProperty("securitySchemes").GetProperty("ApiKey");
        (scheme.GetProperty("type").GetString(), scheme.GetProperty("scheme").GetString()).Should().Be(("http", "bearer"));
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                var secured = operation.Value.TryGetProperty("security", out var security)
                    && security.EnumerateArray().Any(r => r.TryGetProperty("ApiKey", out _));
                secured.Should().Be(path.Name != "/healthz", $"{operation.Name} {path.Name} needs a key exactly when it is not the health check");
                operation.Value.GetProperty("responses").TryGetProperty("401", out _).Should().Be(secured);
            }
        }
    }

    /// <summary>
    /// A response declared without content says it has no body: a validating proxy or a generated client reading the
    /// document refuses the problem the 401 carries.
    /// </summary>
    [Fact]
    public async Task OpenApi_document_declares_the_401_as_the_problem_it_is()
    {
        // Arrange
        using var client = broker.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AuthenticatedBroker.Key);
        using var keyless = broker.CreateClient();
        using var refused = await keyless.GetAsync("/queues");
        var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement;

        // Act
        var document = JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json")).RootElement;

        // Assert
        refused.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        var schemas = document.GetProperty("components").GetProperty("schemas");
        foreach (var path in document.GetProperty("paths").EnumerateObject().Where(p => p.Name != "/healthz"))
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                var declared = operation.Value.GetProperty("responses").GetProperty("401");
                declared.TryGetProperty("content", out var content).Should().BeTrue($"{operation.Name} {path.Name} answers a 401 with a body");
                content.EnumerateObject().Select(c => c.Name).Should().Equal(["application/problem+json"], $"{operation.Name} {path.Name}");
                var reference = content.GetProperty("application/problem+json").GetProperty("schema").GetProperty("$ref").GetString()!;
                var schema = schemas.GetProperty(reference.Split('/')[^1]);
                schema.GetProperty("properties").EnumerateObject().Select(p => p.Name).Should()
                    .Contain(problem.EnumerateObject().Select(p => p.Name), $"{operation.Name} {path.Name}: the members the 401 carries");
            }
        }
    }

    [Fact]
    public async Task Unauthorized_answer_is_problem_json_even_when_the_client_accepts_only_html()
    {
        // Arrange
        using var client = broker.CreateClient();
        client.DefaultRequestHeaders.Accept.ParseAdd("text/html");

        // Act
        using var response = await client.GetAsync("/queues");

        // Assert
        await response.ShouldBeClientProblemAsync(HttpStatusCode.Unauthorized);
    }
}

/// <summary>Without keys (the default) the broker is open.</summary>
public sealed class OpenBrokerTests(BrokerFactory broker) : IClassFixture<BrokerFactory>
{
    [Fact]
    public async Task Broker_without_keys_serves_requests_that_carry_none()
    {
        // Arrange
        using var client = broker.CreateClient();

        // Act
        using var response = await client.GetAsync("/queues");

        // Assert
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        await client.ShouldStillServeAsync();
    }

    [Fact]
    public async Task OpenApi_document_of_a_broker_without_keys_asks_for_none()
    {
        // Arrange
        using var client = broker.CreateClient();

        // Act
        var document = await client.GetStringAsync("/openapi/v1.json");

        // Assert
        document.Should().NotContain("securitySchemes").And.NotContain("\"401\"");
    }

    [Fact]
    public async Task Broker_without_keys_ignores_a_key_it_was_not_told_about()
    {
        // Arrange
        using var client = broker.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "anything");

        // Act
        using var response = await client.GetAsync("/queues");

        // Assert
        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }
}
