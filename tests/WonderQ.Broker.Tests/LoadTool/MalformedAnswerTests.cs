using System.Text.Json;

namespace WonderQ.Broker.Tests.LoadTool;

/// <summary>
/// A server under test that answers what the API does not say: the tool, run as a user runs it, counts it or names it,
/// and never dies of it with a stack trace and its queue left behind.
/// </summary>
public sealed class MalformedAnswerTests
{
    [Theory]
    [InlineData("[null]")]
    [InlineData("null")]
    [InlineData("[{\"id\":1,\"body\":\"x\"},null]")]
    public async Task A_consume_answered_200_without_an_array_of_messages_is_counted_as_its_error(string answer)
    {
        await using var server = await OriginalDialectServer.StartAsync(countsQueues: true, consumeAnswer: answer);

        var run = await LoadToolProcess.RunAsync(
            "consume", "--url", server.Url.ToString(), "--messages", "5", "--consumers", "1", "--duration", "1", "--json", "--quiet");

        run.Error.Should().NotContain("Unhandled exception");
        run.ExitCode.Should().Be(1, run.Error);
        using var json = JsonDocument.Parse(run.Output);
        json.RootElement.GetProperty("errors").EnumerateObject().Select(error => error.Name).Should()
            .Contain("GET /messages/consume JsonException: not an array of messages, each with an id and a body");
    }

    [Fact]
    public async Task A_list_of_queues_holding_null_ends_the_run_naming_it_not_a_crash()
    {
        await using var server = await OriginalDialectServer.StartAsync(countsAnswer: "[null]");

        var run = await LoadToolProcess.RunAsync("produce", "--url", server.Url.ToString(), "--messages", "5", "--duration", "1", "--json", "--quiet");

        run.Error.Should().NotContain("Unhandled exception");
        run.ExitCode.Should().Be(2, run.Error);
        using var json = JsonDocument.Parse(run.Output);
        json.RootElement.GetProperty("error").GetString().Should().Contain("GET /queues answered 200 with a list holding null");
    }

    [Theory]
    [InlineData("produce")]
    [InlineData("consume")]
    public async Task A_list_of_queues_without_their_sizes_leaves_the_unreceived_unverified_not_lost(string scenario)
    {
        // The consumers of a consume run get nothing (an empty poll each time): every message stays in the queue.
        await using var server = await OriginalDialectServer.StartAsync(countsQueues: true, countsWithoutSize: true, consumeAnswer: "[]");

        var run = await LoadToolProcess.RunAsync(
            scenario, "--url", server.Url.ToString(), "--messages", "5", "--duration", "1", "--json", "--quiet");

        run.ExitCode.Should().Be(3, run.Output);
        using var json = JsonDocument.Parse(run.Output);
        json.RootElement.GetProperty("result").GetString().Should().Be("UNVERIFIED");
        json.RootElement.GetProperty("verification").GetProperty("unreceived_unverifiable").GetInt64().Should().Be(5);
    }

    [Fact]
    public async Task A_queue_answered_with_its_created_at_in_unix_milliseconds_is_run_against()
    {
        await using var server = await OriginalDialectServer.StartAsync(countsQueues: true, createdAtMillis: true);

        var run = await LoadToolProcess.RunAsync("produce", "--url", server.Url.ToString(), "--messages", "5", "--duration", "1", "--json", "--quiet");

        run.ExitCode.Should().Be(0, run.Output + run.Error);
        using var json = JsonDocument.Parse(run.Output);
        json.RootElement.GetProperty("verification").GetProperty("acknowledged").GetInt64().Should().Be(5);
    }

    [Fact]
    public async Task A_queue_answered_without_its_id_ends_the_run_naming_the_answer()
    {
        await using var server = await OriginalDialectServer.StartAsync(countsQueues: true, createWithoutId: true);

        var run = await LoadToolProcess.RunAsync("produce", "--url", server.Url.ToString(), "--messages", "5", "--duration", "1", "--json", "--quiet");

        run.ExitCode.Should().Be(2, run.Output);
        using var json = JsonDocument.Parse(run.Output);
        json.RootElement.GetProperty("error").GetString().Should().Contain("POST /queues answered 200 without a queue in JSON");
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("null")]
    [InlineData("{\"id\":\"7\"}")]
    public async Task A_send_answered_without_its_id_is_counted_as_its_error_not_as_an_id_given_twice(string answer)
    {
        await using var server = await OriginalDialectServer.StartAsync(countsQueues: true, sendAnswer: answer);

        var run = await LoadToolProcess.RunAsync("produce", "--url", server.Url.ToString(), "--messages", "5", "--duration", "1", "--json", "--quiet");

        run.ExitCode.Should().Be(1, run.Error);
        using var json = JsonDocument.Parse(run.Output);
        json.RootElement.GetProperty("errors").EnumerateObject().Select(error => (error.Name, error.Value.GetInt64())).Should()
            .Equal(("POST /messages JsonException: not an object with the message's id", 5L));
        json.RootElement.GetProperty("verification").GetProperty("acknowledged").GetInt64().Should().Be(0);
    }
}
