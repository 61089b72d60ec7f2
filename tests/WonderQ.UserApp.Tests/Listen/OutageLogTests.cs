using System.Net;
using WonderQ.UserApp.Tests.Infrastructure;

namespace WonderQ.UserApp.Tests.Listen;

/// <summary>What a listening loop tells the operator about a broker that stays down through many of its retries.</summary>
public sealed class OutageLogTests : UserAppTestBase
{
    // Each failed consume is one attempt of the loop's, not of the client's retries within it.
    protected override IDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Broker:MaxRetries"] = "0",
    };

    [Fact]
    public async Task A_broker_busy_through_several_retries_is_one_warning_not_one_per_retry()
    {
        // Arrange: the broker answers the first four consumes 503.
        await DispatchAsync(new { queue_name = "outage", body = "through once the broker answers" });
        var turnedAway = 0;
        App.BrokerRequest = request => request.RequestUri!.AbsolutePath == "/messages/consume" && Interlocked.Increment(ref turnedAway) <= 4
            ? new HttpResponseMessage(HttpStatusCode.ServiceUnavailable)
            {
                Content = new StringContent(
                    """{"status":503,"title":"The message store is unavailable.","detail":"The broker could not reach its storage. Try again shortly."}""",
                    System.Text.Encoding.UTF8,
                    "application/problem+json"),
            }
            : null;

        // Act
        using var started = await Http.GetAsync("/listen?queue_name=outage&wait_time=1");

        // Assert
        await Eventually.ValueAsync(() => App.ProcessedBodies.Count, count => count == 1, "the message is processed once the broker answers");
        turnedAway.Should().BeGreaterThan(4, "the loop retried through the outage");
        App.Logs.Warnings.Should().ContainSingle(w => w.Contains("could not consume", StringComparison.Ordinal));
    }
}
