using System.Text.RegularExpressions;
using FluentAssertions;
using Microsoft.Playwright;
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
    public async Task A_screen_reader_hears_the_broker_go_and_come_back_not_only_go()
    {
        await _apps.BrokerClient.CreateQueueAsync("survivor");
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, _apps.Url);
        // The page's status, not the messages panel's, which speaks of a queue opened.
        var back = dashboard.Page.GetByRole(AriaRole.Status).And(dashboard.Page.Locator("#broker-back"));
        await Expect(dashboard.QueueRow("survivor")).ToHaveCountAsync(1);
        await Expect(back).ToHaveTextAsync("");

        for (var outage = 1; outage <= 2; outage++)
        {
            await _apps.StopBrokerAsync();

            await Expect(dashboard.Page.GetByRole(AriaRole.Alert)).ToContainTextAsync("unreachable");
            // Emptied, so that the return is a change of the status, announced each time.
            await Expect(back).ToHaveTextAsync("");

            await _apps.RestartBrokerAsync();

            // The banner's going is only seen: the status says it.
            await Expect(dashboard.Banner).ToBeHiddenAsync();
            await Expect(back).ToHaveTextAsync("The broker answers again.");
        }
    }

    [Fact]
    public async Task The_data_is_marked_old_by_how_long_the_page_has_waited_even_after_the_computer_s_clock_stepped_back()
    {
        await _apps.BrokerClient.CreateQueueAsync("survivor");
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, _apps.Url);
        await Expect(dashboard.QueueRow("survivor")).ToHaveCountAsync(1);
        // As an NTP correction sets the clock an hour back.
        await dashboard.Page.EvaluateAsync("""
            () => {
              const now = Date.now;
              Date.now = () => now() - 3_600_000;
            }
            """);

        await _apps.StopBrokerAsync();

        await Expect(dashboard.Banner).ToBeVisibleAsync();
        await Expect(dashboard.Page.Locator("#freshness")).ToHaveClassAsync(new Regex("stale"));
    }

    [Fact]
    public async Task A_poll_that_failed_while_the_broker_was_down_answered_after_the_page_saw_it_back_does_not_bring_the_banner_back()
    {
        await _apps.BrokerClient.CreateQueueAsync("survivor");
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, _apps.Url);
        var page = dashboard.Page;
        await Expect(dashboard.QueueRow("survivor")).ToHaveCountAsync(1);
        await _apps.StopBrokerAsync();
        await Expect(dashboard.Banner).ToBeVisibleAsync();

        // A poll's answer while the broker is down, slow on its way to the page; the poll waits for it, and a queue created
        // from the page meanwhile finds the broker back.
        var release = await dashboard.HoldNextAnswerAsync("**/queues");
        await _apps.RestartBrokerAsync();
        await page.Locator("#new-queue-name").FillAsync("after");
        await page.Locator("#create-queue button[type=submit]").ClickAsync();
        await Expect(dashboard.QueueRow("after")).ToHaveCountAsync(1);
        await Expect(dashboard.Banner).ToBeHiddenAsync();
        await page.EvaluateAsync("""
            banner => {
              window.bannerShown = 0;
              new MutationObserver(() => { if (!banner.hidden) window.bannerShown++; }).observe(banner, { attributes: true });
            }
            """, await dashboard.Banner.ElementHandleAsync());
        var updated = await page.Locator("#updated").TextContentAsync() ?? "";
        var pollAnswered = page.WaitForResponseAsync(response => response.Url.EndsWith("/queues", StringComparison.Ordinal) && response.Status == 503);
        release();
        await pollAnswered;
        await Expect(page.Locator("#updated")).Not.ToHaveTextAsync(updated);

        (await page.EvaluateAsync<int>("() => window.bannerShown")).Should().Be(0, "the held failure is older than the answer that cleared the banner");
        await Expect(dashboard.Banner).ToBeHiddenAsync();
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
