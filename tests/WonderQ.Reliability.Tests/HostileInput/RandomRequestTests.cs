using System.Globalization;
using System.Text.Json;
using FluentAssertions;
using WonderQ.Reliability.Tests.Support;
using Xunit.Abstractions;
using static WonderQ.Reliability.Tests.Support.HostileRequests;

namespace WonderQ.Reliability.Tests.HostileInput;

/// <summary>
/// Thousands of generated requests (fixed seed, so a failure reproduces): random methods and paths from the API,
/// random query parameters, random and mutated JSON bodies, and now and then a create or send the broker takes. None
/// may get a 5xx; every 4xx is problem+json.
/// </summary>
public sealed class RandomRequestTests(BrokerFactory factory, ITestOutputHelper output) : IClassFixture<BrokerFactory>
{
    private const int RequestCount = 3_000;

    // wait_time only ever gets values that do not wait, so no generated consume parks for seconds.
    private static readonly string[] _waitTimes = ["0", "-1", "21", "abc", "99999999999999999999", "0.5", "+0", "0x0"];

    [Fact]
    public async Task Thousands_of_random_requests_get_no_5xx_and_every_4xx_is_problem_json()
    {
        // Arrange
        using var client = factory.CreateClient();
        var queue = await client.CreateQueueAsync(Json.UniqueQueueName("fuzz"));
        var queueId = queue.Id.ToString(CultureInfo.InvariantCulture);
        var messageId = (await client.SendAsync(queue.Name, "seed message")).ToString(CultureInfo.InvariantCulture);
        var shape = new AppFuzzer.Shape(
            Routes:
            [
                ("POST", "/queues"), ("GET", "/queues/find"), ("GET", "/queues"), ("GET", "/queues/{seg}/messages"),
                ("GET", "/queues/{seg}"), ("DELETE", "/queues/{seg}"), ("POST", "/messages"), ("POST", "/messages"),
                ("GET", "/messages/consume"), ("DELETE", "/messages/{seg}"), ("GET", "/healthz"), ("GET", "/openapi/v1.json"),
                ("GET", "/queues/find/x"), ("GET", "/messages/consume/1"), ("GET", "/%2e%2e/%2e%2e/etc/passwd"),
            ],
            ParameterNames: ["queue_id", "queue_name", "size", "visibility_timeout", "id", "name", "reservation_token", "body", "x", ""],
            FieldNames: ["name", "queue_id", "queue_name", "body"],
            FieldValue: (random, field) => field switch
            {
                "queue_id" => random.Next(2) == 0 ? queueId : "1",
                "queue_name" or "name" => JsonSerializer.Serialize(random.Next(2) == 0 ? queue.Name : $"fz-{random.Next(100)}"),
                "body" => JsonSerializer.Serialize($"fuzz {random.Next()}"),
                _ => null,
            },
            KnownValues: [queue.Name, queueId, messageId],
            ExtraQuery: (random, path) => path.StartsWith("/messages/consume", StringComparison.Ordinal)
                ? $"wait_time={_waitTimes[random.Next(_waitTimes.Length)]}"
                : null,
            ValidBody: (random, method, path) => (method, path) switch
            {
                ("POST", "/queues") => JsonSerializer.Serialize(new { name = $"fz-{random.Next(100)}" }),
                ("POST", "/messages") => random.Next(2) == 0
                    ? JsonSerializer.Serialize(new { queue_id = queue.Id, body = $"fuzz {random.Next()}" })
                    : JsonSerializer.Serialize(new { queue_name = queue.Name, body = $"fuzz {random.Next()}" }),
                _ => null,
            });

        // Act
        var (failures, statuses) = await new AppFuzzer(new Random(Seed), shape).RunAsync(client, RequestCount, parallelism: 4);

        // Assert
        output.WriteLine($"seed {Seed}, {RequestCount} requests; statuses: {AppFuzzer.Describe(statuses)}");
        failures.Should().BeEmpty();
        statuses.Should().ContainKey(201, "some generated creates and sends are taken, so the writes behind validation are reached too");
        await client.ShouldStillServeAsync();
    }
}
