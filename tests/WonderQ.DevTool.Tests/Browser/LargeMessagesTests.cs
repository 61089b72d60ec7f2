using System.Collections.Concurrent;
using FluentAssertions;
using WonderQ.Shared.Contracts;
using static Microsoft.Playwright.Assertions;

namespace WonderQ.DevTool.Tests.Browser;

/// <summary>
/// A DevTool whose page waits twelve seconds for an answer (<c>Broker:TotalTimeout</c> and two): with LiveApps's two
/// and two, a first answer held back on a loaded machine could be given up on, and asked for again, by the page itself.
/// </summary>
public sealed class LiveAppsWithPatientPage() : LiveApps(["--Broker:TotalTimeout=00:00:10"]);

[Collection(BrowserCollection.Name)]
public sealed class LargeMessagesTests(ChromiumFixture chromium, LiveAppsWithPatientPage apps) : IClassFixture<LiveAppsWithPatientPage>
{
    [Fact]
    public async Task Opening_a_queue_of_large_messages_fetches_them_once_and_then_only_asks_whether_they_changed()
    {
        var name = $"large-{Guid.NewGuid().ToString("N")[..8]}";
        await apps.BrokerClient.CreateQueueAsync(name);
        for (var i = 0; i < 10; i++)
        {
            await apps.BrokerClient.SendAsync(QueueRef.ByName(name), $"{i}{new string('x', 256 * 1024 - 1)}");
        }

        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);
        var page = dashboard.Page;
        await Expect(dashboard.QueueRow(name)).ToHaveCountAsync(1);
        var tagsSent = new ConcurrentQueue<string>();
        var answers = new ConcurrentQueue<(int Status, string? Tag)>();
        var pollsAnsweredMeanwhile = 0;
        page.Request += (_, request) =>
        {
            if (request.Url.Contains($"/queues/{name}?", StringComparison.Ordinal))
            {
                tagsSent.Enqueue(request.Headers.GetValueOrDefault("if-none-match", "none"));
            }
        };
        page.RequestFinished += (_, request) =>
        {
            if (new Uri(request.Url).AbsolutePath == "/queues" && !tagsSent.IsEmpty && answers.IsEmpty)
            {
                Interlocked.Increment(ref pollsAnsweredMeanwhile);
            }
        };
        page.Response += (_, response) =>
        {
            if (response.Url.Contains($"/queues/{name}?", StringComparison.Ordinal))
            {
                answers.Enqueue((response.Status, response.Headers.GetValueOrDefault("etag")));
            }
        };
        // A slow DevTool: the first request for the messages, with every body, is answered only once the page's poll
        // has come round meanwhile.
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = 0;
        await page.RouteAsync($"**/queues/{name}?*", async route =>
        {
            if (Interlocked.Exchange(ref held, 1) == 0)
            {
                await release.Task;
            }

            await route.ContinueAsync();
        });

        await dashboard.OpenQueueAsync(name);
        await Eventually.TrueAsync(() => Volatile.Read(ref pollsAnsweredMeanwhile) > 0, "a poll's queue list is answered while the messages are held");
        // Time for that poll to ask for the messages too, had it not waited for the answer on its way.
        await Eventually.WithinAsync(() => tagsSent.Count > 1, TimeSpan.FromSeconds(1));
        release.SetResult();
        await Expect(dashboard.MessageRows).ToHaveCountAsync(10);
        await Eventually.TrueAsync(() => answers.Count(answer => answer.Status == 304) >= 2, "two polls are answered 304");

        answers.Count(answer => answer.Status == 200).Should().Be(1, "the bodies are fetched once");
        tagsSent.First().Should().Be("none");
        tagsSent.Skip(1).Should().OnlyContain(tag => tag == answers.First().Tag, "every later poll sends the first answer's tag");
    }
}
