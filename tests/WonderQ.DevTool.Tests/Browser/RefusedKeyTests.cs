using System.Net.Http.Headers;
using WonderQ.Shared.Client;
using static Microsoft.Playwright.Assertions;

namespace WonderQ.DevTool.Tests.Browser;

/// <summary>A broker that needs an API key, and a DevTool set up with the wrong one.</summary>
public sealed class LiveAppsWithRefusedKey() : LiveApps(["--Broker:ApiKey=not-the-brokers-key"], [$"--Auth:ApiKeys:0={LiveAppsWithRefusedKey.BrokerKey}"])
{
    public const string BrokerKey = "the-brokers-key";
}

[Collection(BrowserCollection.Name)]
public sealed class RefusedKeyTests(ChromiumFixture chromium, LiveAppsWithRefusedKey apps) : IClassFixture<LiveAppsWithRefusedKey>
{
    [Fact]
    public async Task When_the_broker_refuses_the_devtools_key_the_send_form_says_so_instead_of_asking_for_a_queue()
    {
        // The broker has a queue: only the DevTool cannot see it.
        using var http = apps.CreateBrokerClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", LiveAppsWithRefusedKey.BrokerKey);
        await new BrokerClient(http).CreateQueueAsync("orders");
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);
        var page = dashboard.Page;
        await Expect(dashboard.Banner).ToContainTextAsync("refused");

        await Expect(page.Locator("#send-queue option")).ToHaveTextAsync("could not load the queues: the broker refused this app");
        await page.Locator("#send-message button[type=submit]").ClickAsync();

        await Expect(page.Locator("#send-status")).ToContainTextAsync("set Broker:ApiKey");
        // The list says so too, in its place, rather than "No queues yet" of a broker that has one.
        await Expect(page.Locator("#no-queues")).ToHaveTextAsync("Could not load the queues: the broker refused this app.");
        await Expect(page.Locator("#queues")).ToBeHiddenAsync();
    }
}
