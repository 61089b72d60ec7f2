using System.Text.RegularExpressions;
using FluentAssertions;
using WonderQ.Reliability.Tests.Support;

namespace WonderQ.Reliability.Tests.Memory;

/// <summary>
/// A broker process with the runtime's own collector: once it goes idle it collects, once, and again only after requests
/// came and went. What a collection gives back depends on the runtime; that it runs, and when, does not.
/// </summary>
public sealed partial class IdleMemoryReleaseTests
{
    [Fact]
    public async Task An_idle_broker_collects_once_and_again_only_after_a_busy_spell()
    {
        using var database = new TempDatabase();
        using var broker = AppProcess.Start(
            "Broker",
            FreePort.Next(),
            null,
            $"--Storage:Sqlite:Path={database.Path}",
            "--Memory:IdleCollectAfter=00:00:01",
            "--Memory:IdleCollectMinBytes=0",
            "--Logging:LogLevel:WonderQ.Broker.Infrastructure.IdleMemoryRelease=Information");
        await broker.WaitReadyAsync();

        await Eventually.TrueAsync(() => Collections(broker) == 1, "the idle broker collects", TimeSpan.FromSeconds(20));
        await Task.Delay(TimeSpan.FromSeconds(3));
        Collections(broker).Should().Be(1, "an idle broker collects again only once the runtime has collected on its own: " + broker.StandardOutput);

        // Some 60 MB of bodies through the broker: the runtime collects as it goes.
        using var client = broker.CreateClient();
        var queue = Json.UniqueQueueName("spell");
        await client.CreateQueueAsync(queue);
        var body = new string('x', 100_000);
        for (var i = 0; i < 200; i++)
        {
            await client.SendAsync(queue, body);
        }

        await Eventually.TrueAsync(() => Collections(broker) == 2, "the broker collects once idle again", TimeSpan.FromSeconds(20));
        await client.ShouldStillServeAsync();
    }

    private static int Collections(AppProcess broker) => IdleCollection().Count(broker.StandardOutput);

    [GeneratedRegex(@"No garbage collection for 00:00:01: collected once, and the heap went from [\d.]+ MB to [\d.]+ MB in \d+ ms")]
    private static partial Regex IdleCollection();
}
