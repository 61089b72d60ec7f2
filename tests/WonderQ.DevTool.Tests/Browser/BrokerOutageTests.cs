using System.Text.RegularExpressions;
using static Microsoft.Playwright.Assertions;

namespace WonderQ.DevTool.Tests.Browser;

[Collection(BrowserCollection.Name)]
public sealed class BrokerOutageTests(ChromiumFixture chromium) : IAsyncLifetime
{
    // Apps of its own: this test stops the broker, which no other test should notice.
    private readonly LiveApps _apps = new();

    public Task InitializeAsync() => _apps.InitializeAsync();

    public Task DisposeAsync() => _apps.DisposeAsync();

    [Fact]
    public async Task Banner_appears_when_the_broker_stops_and_goes_away_when_it_is_back()
    {
        await _apps.BrokerClient.CreateQueueAsync("survivor");
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, _apps.Url);
        await Expect(dashboard.QueueRow("survivor")).ToHaveCountAsync(1);
        await Expect(dashboard.Banner).ToBeHiddenAsync();

        await _apps.StopBrokerAsync();

        await Expect(dashboard.Banner).ToBeVisibleAsync();
        await Expect(dashboard.Banner).ToContainTextAsync("unreachable");
        await Expect(dashboard.Banner).ToContainTextAsync(_apps.BrokerUrl.ToString());
        // The last data stays on screen, marked as old.
        await Expect(dashboard.QueueRow("survivor")).ToHaveCountAsync(1);
        await Expect(dashboard.Page.Locator("#freshness")).ToHaveClassAsync(new Regex("stale"));

        await _apps.RestartBrokerAsync();

        await Expect(dashboard.Banner).ToBeHiddenAsync();
        await Expect(dashboard.Page.Locator("#freshness")).Not.ToHaveClassAsync(new Regex("stale"));
        await Expect(dashboard.QueueRow("survivor")).ToHaveCountAsync(1);
    }

    [Fact]
    public async Task A_page_opened_while_the_broker_is_down_says_in_the_list_that_the_queues_could_not_be_loaded_until_it_answers()
    {
        await _apps.StopBrokerAsync();
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, _apps.Url);
        var page = dashboard.Page;
        var list = page.Locator("#queues");
        var noQueues = page.Locator("#no-queues");
        await Expect(dashboard.Banner).ToBeVisibleAsync();

        // Where the list would be, as the send form says it: a header over no rows said nothing at all.
        await Expect(noQueues).ToHaveTextAsync("Could not load the queues: the broker is unreachable.");
        await Expect(list).ToBeHiddenAsync();

        await _apps.RestartBrokerAsync();

        // Answered, and empty: no header over nothing either, as the messages' table has none.
        await Expect(dashboard.Banner).ToBeHiddenAsync();
        await Expect(noQueues).ToHaveTextAsync("No queues yet. Create one below.");
        await Expect(list).ToBeHiddenAsync();

        await _apps.BrokerClient.CreateQueueAsync("first");

        await Expect(dashboard.QueueRow("first")).ToBeVisibleAsync();
        await Expect(page.Locator("#queues thead")).ToBeVisibleAsync();
        await Expect(noQueues).ToBeHiddenAsync();
    }
}
