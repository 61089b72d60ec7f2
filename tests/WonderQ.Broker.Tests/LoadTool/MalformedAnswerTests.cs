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
}
