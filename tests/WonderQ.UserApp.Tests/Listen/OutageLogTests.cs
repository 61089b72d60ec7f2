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
        App.BrokerRequest = request => IsConsume(request) && Interlocked.Increment(ref turnedAway) <= 4 ? StoreUnavailable() : null;

        // Act
        using var started = await Http.GetAsync("/listen?queue_name=outage&wait_time=1");

        // Assert
        await Eventually.ValueAsync(() => App.ProcessedBodies.Count, count => count == 1, "the message is processed once the broker answers");
        turnedAway.Should().BeGreaterThan(4, "the loop retried through the outage");
        App.Logs.Warnings.Should().ContainSingle(w => w.Contains("could not consume", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_outage_after_the_loop_resumed_is_counted_afresh()
    {
        // Arrange: an outage of two consumes, which the loop waits out and resumes after.
        await DispatchAsync(new { queue_name = "twice", body = "between the outages" });
        var toTurnAway = 2;
        App.BrokerRequest = request => IsConsume(request) && Interlocked.Decrement(ref toTurnAway) >= 0 ? StoreUnavailable() : null;
        using var started = await Http.GetAsync("/listen?queue_name=twice&wait_time=1");
        await Eventually.ValueAsync(() => App.ProcessedBodies.Count, count => count == 1, "the message is processed once the broker answers");

        // Act: a second outage, of one consume.
        Interlocked.Exchange(ref toTurnAway, 1);

        // Assert: it starts from the first failure again, with the first, shortest pause, not where the last one ended.
        var outages = await Eventually.ValueAsync(
            () => App.Logs.Warnings.Where(w => w.Contains("could not consume", StringComparison.Ordinal)).ToList(),
            warnings => warnings.Count == 2,
            "each outage is warned of");
        outages.Should().AllSatisfy(w => w.Should().Contain("(1 in a row)"));
    }

    private static bool IsConsume(HttpRequestMessage request) => request.RequestUri!.AbsolutePath == "/messages/consume";

    private static HttpResponseMessage StoreUnavailable() => new(HttpStatusCode.ServiceUnavailable)
    {
        Content = new StringContent(
            """{"status":503,"title":"The message store is unavailable.","detail":"The broker could not reach its storage. Try again shortly."}""",
            System.Text.Encoding.UTF8,
            "application/problem+json"),
    };
}
