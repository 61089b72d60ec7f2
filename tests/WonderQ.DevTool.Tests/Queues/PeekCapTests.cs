using System.Net;
using System.Text;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using WonderQ.DevTool.Queues;

namespace WonderQ.DevTool.Tests.Queues;

/// <summary>
/// Peeks answered at once are capped (Dashboard:MaxConcurrentPeeks): each holds up to a hundred bodies of 256 KiB until
/// its caller has read them, so callers reading slowly on many connections would otherwise hold gigabytes of the
/// DevTool's memory.
/// </summary>
public sealed class PeekCapTests
{
    [Fact]
    public async Task A_peek_past_the_cap_is_a_503_naming_it_with_a_retry_after_and_the_cap_frees_once_the_peeks_are_answered()
    {
        // Arrange: a broker that holds every peek until released, and a DevTool that answers two at once.
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var peeks = 0;
        await using var devTool = new DevToolApplication(
            () => new HoldingBroker(release.Task, () => Interlocked.Increment(ref peeks)),
            configure: builder => builder.UseSetting("Dashboard:MaxConcurrentPeeks", "2"));
        using var client = devTool.CreateClient();
        var first = client.GetAsync("/queues/orders");
        var second = client.GetAsync("/queues/orders");
        await Eventually.TrueAsync(() => Volatile.Read(ref peeks) == 2, "both peeks reach the broker");

        // Act
        using (var refused = await client.GetAsync("/queues/orders"))
        {
            // Assert: refused without asking the broker, saying which setting holds it back and when to try again.
            await ProblemAssertions.ShouldBeProblemAsync(refused, HttpStatusCode.ServiceUnavailable, "(Dashboard:MaxConcurrentPeeks)");
            refused.Headers.RetryAfter.Should().NotBeNull();
            Volatile.Read(ref peeks).Should().Be(2);
        }

        release.TrySetResult();
        foreach (var answer in new[] { first, second })
        {
            using var response = await answer;
            response.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        // A slot is given back once its answer has been written, which can be just after its caller has read it all.
        await Eventually.TrueAsync(
            () => devTool.Services.GetRequiredService<PeekGate>().Taken == 0, "the answered peeks give their slots back");
        using var again = await client.GetAsync("/queues/orders");
        again.StatusCode.Should().Be(HttpStatusCode.OK, "the answered peeks gave their slots back");
    }

    /// <summary>A broker whose peeks wait for <paramref name="release"/>, each counted as it arrives.</summary>
    private sealed class HoldingBroker(Task release, Action arrived) : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            arrived();
            await release.WaitAsync(cancellationToken);
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("[]", Encoding.UTF8, "application/json") };
        }
    }
}
