using System.Net.Http.Json;
using System.Text.Json;
using WonderQ.LoadTest;

namespace WonderQ.Broker.Tests.LoadTool;

/// <summary>The load tool on a <c>--queue</c> that holds messages of others: another run's, or another producer's.</summary>
public sealed class SharedQueueTests(KestrelBroker broker) : IClassFixture<KestrelBroker>
{
    [Fact]
    public async Task Consume_on_a_queue_holding_others_messages_counts_and_checks_only_its_own_and_deletes_the_rest()
    {
        // Arrange: 30 messages of another app, older than (so claimed before) the run's 20.
        await FillAsync("shared-with-others", 30, "another app's");

        // Act
        using var json = await ConsumeAsync(
            "--queue", "shared-with-others", "--messages", "20", "--consumers", "1", "--batch", "10", "--fill-concurrency", "4", "--duration", "30");

        // Assert: the run went on past the others' messages until it had received its own 20.
        var verification = json.RootElement.GetProperty("verification");
        verification.GetProperty("received").GetInt64().Should().Be(20, "the run's own messages are what it counts");
        verification.GetProperty("foreign_received").GetInt64().Should().Be(30);
        verification.GetProperty("foreign_deleted").GetInt64().Should().Be(30);
        verification.GetProperty("unreceived_still_queued").GetInt64().Should().Be(0);
        verification.GetProperty("queue_size_after").GetInt64().Should().Be(0);
        json.RootElement.GetProperty("result").GetString().Should().Be("PASS");
    }

    [Fact]
    public async Task A_drain_of_a_queue_holding_fewer_than_asked_for_is_timed_to_its_last_delete_not_to_the_end_of_its_duration()
    {
        // Arrange: a backlog of 40, drained with the default --messages of 20,000.
        await FillAsync("drained-dry", 40, "backlog");

        // Act
        using var json = await ConsumeAsync(
            "--queue", "drained-dry", "--no-fill", "--consumers", "2", "--batch", "10", "--wait-time", "1", "--duration", "5");

        // Assert: 40 deletes take a fraction of a second here; the 5 s of empty polls after them are not the drain's.
        json.RootElement.GetProperty("verification").GetProperty("foreign_deleted").GetInt64().Should().Be(40);
        json.RootElement.GetProperty("elapsed_seconds").GetDouble().Should().BeLessThan(4, "the queue ran dry long before --duration");
        json.RootElement.GetProperty("throughput_msgs_per_second").GetDouble()
            .Should().BeGreaterThan(10, "40 messages over less than 4 s, not over the 5 s --duration");
    }

    [Fact]
    public async Task A_drain_of_part_of_a_queue_takes_exactly_the_messages_asked_for_not_whole_batches_past_them()
    {
        // Arrange: a backlog of 50; two consumers asking for batches of 10 would take 20 or more for 15.
        await FillAsync("drained-in-part", 50, "backlog");

        // Act
        using var json = await ConsumeAsync(
            "--queue", "drained-in-part", "--no-fill", "--messages", "15", "--consumers", "2", "--batch", "10", "--duration", "30");

        // Assert
        var verification = json.RootElement.GetProperty("verification");
        verification.GetProperty("foreign_received").GetInt64().Should().Be(15);
        verification.GetProperty("foreign_deleted").GetInt64().Should().Be(15);
        verification.GetProperty("queue_size_after").GetInt64().Should().Be(35, "the rest of the backlog is left for its consumers");
    }

    /// <summary>The JSON result of a <c>consume</c> run against the broker with <paramref name="args"/>, which must exit 0.</summary>
    private async Task<JsonDocument> ConsumeAsync(params string[] args)
    {
        var output = new StringWriter();
        var exitCode = await Session.RunAsync(
            LoadOptions.Parse(["consume", .. args, "--url", broker.Url.ToString(), "--json", "--quiet"]), output, TextWriter.Null);

        exitCode.Should().Be(0, output.ToString());
        return JsonDocument.Parse(output.ToString());
    }

    /// <summary>A new queue <paramref name="name"/> holding <paramref name="count"/> messages the run did not send.</summary>
    private async Task FillAsync(string name, int count, string body)
    {
        using var http = broker.CreateClient();
        var queue = await (await http.PostAsJsonAsync("/queues", new { name })).Content.ReadFromJsonAsync<JsonElement>();
        for (var i = 0; i < count; i++)
        {
            (await http.PostAsJsonAsync("/messages", new { queue_id = queue.GetProperty("id").GetInt64(), body = $"{body} #{i}" })).EnsureSuccessStatusCode();
        }
    }
}
