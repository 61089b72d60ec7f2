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
}
