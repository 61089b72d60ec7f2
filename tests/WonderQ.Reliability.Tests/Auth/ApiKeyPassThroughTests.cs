using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using WonderQ.Reliability.Tests.Support;
using WonderQ.Shared.Client;
using WonderQ.Shared.Json;

namespace WonderQ.Reliability.Tests.Auth;

/// <summary>
/// A broker that requires an API key, with the DevTool and the UserApp in front of it: given the key
/// (<c>Broker:ApiKey</c>) their typed client passes it through and they work end to end; without it, or with a wrong
/// one, they answer 502 problem+json that tells the operator what to set — not a 500, and not the broker's 401
/// passed on as if the caller had to authenticate.
/// </summary>
public sealed class ApiKeyPassThroughTests
{
    private const string WrongKey = "not-the-broker-key";

    public static TheoryData<string[]> BadKeys() => new()
    {
        new[] { $"--Broker:ApiKey={WrongKey}" },
        Array.Empty<string>(),
    };

    [Fact]
    public async Task Typed_client_registered_with_the_key_sends_it_and_without_it_gets_the_brokers_401()
    {
        // Arrange
        var broker = new AuthenticatedKestrelBroker();
        await broker.InitializeAsync();
        try
        {
            await using var keyed = TypedClient(broker.Url, AuthenticatedBroker.Key);
            await using var keyless = TypedClient(broker.Url, apiKey: null);
            var name = Json.UniqueQueueName("typed");

            // Act
            var created = await keyed.GetRequiredService<BrokerClient>().CreateQueueAsync(name);
            var listed = await keyed.GetRequiredService<BrokerClient>().ListQueuesAsync();
            var denied = await FluentActions.Awaiting(() => keyless.GetRequiredService<BrokerClient>().ListQueuesAsync())
                .Should().ThrowAsync<BrokerException>();

            // Assert
            created.Name.Should().Be(name);
            listed.Should().Contain(q => q.Name == name);
            denied.Which.Status.Should().Be(HttpStatusCode.Unauthorized);
        }
        finally
        {
            await broker.DisposeAsync();
        }
    }

    [Fact]
    public async Task DevTool_with_the_key_lists_and_creates_queues()
    {
        // Arrange
        await using var apps = new KeyedDevTool([$"--Broker:ApiKey={AuthenticatedBroker.Key}"]);
        await apps.InitializeAsync();
        using var client = apps.CreateClient();
        var name = Json.UniqueQueueName("keyed");

        // Act
        using var created = await client.PostAsJsonAsync("/queues", new { name }, WonderQJson.Options);
        using var list = await client.GetAsync("/queues");

        // Assert
        created.StatusCode.Should().Be(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var listed = await list.Content.ReadAsStringAsync();
        list.StatusCode.Should().Be(HttpStatusCode.OK, listed);
        listed.Should().Contain(name);
    }

    [Theory]
    [MemberData(nameof(BadKeys))]
    public async Task DevTool_with_a_wrong_or_missing_key_answers_502_saying_to_set_Broker_ApiKey(string[] keyArgs)
    {
        // Arrange
        await using var apps = new KeyedDevTool(keyArgs);
        await apps.InitializeAsync();
        using var client = apps.CreateClient();

        // Act
        using var list = await client.GetAsync("/queues");
        using var create = await client.PostAsJsonAsync("/queues", new { name = Json.UniqueQueueName("denied") }, WonderQJson.Options);

        // Assert
        foreach (var response in new[] { list, create })
        {
            await ShouldBeBrokerRefusedThisAppAsync(response, apps);
        }
    }

    [Fact]
    public async Task UserApp_with_the_key_dispatches_to_a_new_queue()
    {
        // Arrange
        await using var apps = new KeyedUserApp([$"--Broker:ApiKey={AuthenticatedBroker.Key}"]);
        await apps.InitializeAsync();
        using var client = apps.CreateClient();
        var name = Json.UniqueQueueName("keyed");

        // Act
        using var dispatched = await client.PostAsJsonAsync("/dispatch", new { queue_name = name, stub = 3 }, WonderQJson.Options);

        // Assert
        var text = await dispatched.Content.ReadAsStringAsync();
        dispatched.StatusCode.Should().Be(HttpStatusCode.OK, text);
        var json = JsonDocument.Parse(text).RootElement;
        json.GetProperty("created").GetInt32().Should().Be(3, text);
        json.GetProperty("queue_created").GetBoolean().Should().BeTrue(text);
        json.GetProperty("messages").GetArrayLength().Should().Be(3, text);
        json.GetProperty("failed").GetArrayLength().Should().Be(0, text);
        using var broker = apps.CreateBrokerClient();
        broker.DefaultRequestHeaders.Authorization = new("Bearer", AuthenticatedBroker.Key);
        using var peek = await broker.GetAsync($"/queues/{name}/messages?size=10");
        (await peek.Content.ReadAsStringAsync()).Should().Contain("message #3");
    }

    [Theory]
    [MemberData(nameof(BadKeys))]
    public async Task UserApp_with_a_wrong_or_missing_key_answers_502_problem_json(string[] keyArgs)
    {
        // Arrange
        await using var apps = new KeyedUserApp(keyArgs);
        await apps.InitializeAsync();
        using var client = apps.CreateClient();

        // Act
        using var dispatch = await client.PostAsJsonAsync("/dispatch", new { queue_name = Json.UniqueQueueName("denied"), body = "x" }, WonderQJson.Options);
        using var listen = await client.GetAsync("/listen?queue_name=denied-queue");

        // Assert
        foreach (var response in new[] { dispatch, listen })
        {
            await ShouldBeBrokerRefusedThisAppAsync(response, apps);
        }

        using var listeners = await client.GetAsync("/listeners");
        (await listeners.Content.ReadAsStringAsync()).Should().Be("[]");
    }

    private static async Task ShouldBeBrokerRefusedThisAppAsync(HttpResponseMessage response, FrontedApp apps)
    {
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.BadGateway, body);
        response.Headers.WwwAuthenticate.Should().BeEmpty("the caller is not the one who must authenticate");
        var detail = Problems.ShouldBeProblemBody(response, body, body).GetProperty("detail").GetString();
        detail.Should().Contain("Broker:ApiKey").And.Contain(apps.BrokerUrl.Authority);
        body.Should().NotContain(WrongKey).And.NotContain(AuthenticatedBroker.Key);
    }

    private sealed class KeyedDevTool(string[] appArgs)
        : DevToolInFront([$"--Auth:ApiKeys:0={AuthenticatedBroker.Key}"], ["--Broker:MaxRetries=0", .. appArgs]);

    private sealed class KeyedUserApp(string[] appArgs)
        : UserAppInFront([$"--Auth:ApiKeys:0={AuthenticatedBroker.Key}"], ["--Broker:MaxRetries=0", .. appArgs]);

    private static ServiceProvider TypedClient(Uri broker, string? apiKey)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Broker:Url"] = broker.ToString(),
            ["Broker:ApiKey"] = apiKey,
            ["Broker:MaxRetries"] = "0",
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging();
        services.AddBrokerClient();
        return services.BuildServiceProvider();
    }
}
