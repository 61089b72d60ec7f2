using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;
using FluentAssertions;
using WonderQ.Shared.Contracts;
using static Microsoft.Playwright.Assertions;

namespace WonderQ.DevTool.Tests.Browser;

/// <summary>
/// A DevTool whose page refreshes five times a second, cuts bodies after 100 characters and lists at most 50 messages
/// (30 unless asked) of queues named in at most 40 characters.
/// </summary>
public sealed class LiveAppsWithDashboardSettings()
    : LiveApps(
    [
        "--Dashboard:RefreshInterval=00:00:00.200", "--Dashboard:PreviewCharacters=100",
        "--Limits:MaxBatchSize=50", "--Limits:DefaultPeekSize=30", "--Limits:MaxQueueNameLength=40",
    ]);

[Collection(BrowserCollection.Name)]
public sealed class DashboardSettingsPageTests(ChromiumFixture chromium, LiveAppsWithDashboardSettings apps)
    : IClassFixture<LiveAppsWithDashboardSettings>
{
    [Fact]
    public async Task The_page_refreshes_as_often_as_the_devtool_says_and_says_so()
    {
        var answers = new ConcurrentQueue<long>();
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);
        var clock = Stopwatch.StartNew();
        dashboard.Page.Response += (_, response) =>
        {
            if (new Uri(response.Url).AbsolutePath == "/queues")
            {
                answers.Enqueue(clock.ElapsedMilliseconds);
            }
        };

        await Expect(dashboard.Page.Locator(".panel-head .refresh-every")).ToHaveTextAsync("every 0.2 s");
        await Eventually.ValueAsync(() => answers.Count, count => count >= 8, "eight refreshes are answered", TimeSpan.FromSeconds(10));

        // Seven pauses between eight refreshes take 1.4 s at 0.2 s, and seven seconds or more at the default of one
        // second; the bound between them leaves a loaded machine room for slow answers.
        answers.Should().HaveCountGreaterThanOrEqualTo(8);
        (answers.ElementAt(7) - answers.ElementAt(0)).Should().BeLessThan(6_000);
    }

    [Fact]
    public async Task The_forms_offer_no_more_than_the_devtools_limits()
    {
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);
        var size = dashboard.Page.Locator("#size");

        await Expect(size.Locator("option")).ToHaveTextAsync(["10", "25", "30", "50"]);
        await Expect(size).ToHaveValueAsync("30");
    }

    [Fact]
    public async Task A_name_pasted_over_the_limit_is_kept_whole_said_to_be_too_long_and_creates_no_queue()
    {
        var prefix = $"pasted-{Guid.NewGuid().ToString("N")[..8]}-";
        var name = prefix + new string('x', 45 - prefix.Length);
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);
        var page = dashboard.Page;
        var input = page.Locator("#new-queue-name");
        var status = page.Locator("#create-status");
        await Expect(page.Locator(".panel-head .refresh-every")).ToHaveTextAsync("every 0.2 s"); // the settings are in

        // What a paste does: the text inserted at once, as one input event. A maxlength cut it to its first 40 characters
        // without a word, and Create made a queue of that name.
        await input.FocusAsync();
        await page.Keyboard.InsertTextAsync(name);

        await Expect(input).ToHaveValueAsync(name);
        await Expect(input).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(status).ToHaveTextAsync("The name is 45 characters long; a queue name may have at most 40.");
        await Expect(status).ToHaveClassAsync("form-status error");
        await Expect(input).ToHaveAccessibleDescriptionAsync("The name is 45 characters long; a queue name may have at most 40.");

        await page.Locator("#create-queue button[type=submit]").ClickAsync();

        await Expect(status).ToContainTextAsync("must be 1 to 40 characters long");
        await Expect(input).ToHaveValueAsync(name);
        (await apps.BrokerClient.ListQueuesAsync()).Should().NotContain(q => q.Name.StartsWith(prefix, StringComparison.Ordinal));

        // Cut back within the limit, the name is fine again and the message goes.
        await input.FillAsync(name[..40]);
        await Expect(status).ToHaveTextAsync("");
        await Expect(input).Not.ToHaveAttributeAsync("aria-invalid", "true");
    }

    [Fact]
    public async Task A_name_of_emoji_within_the_limit_is_not_said_to_be_too_long_but_to_have_characters_no_name_may_have()
    {
        // 21 characters, each one emoji of two UTF-16 units: 42 units, over the limit of 40 only if counted in units.
        var name = string.Concat(Enumerable.Repeat("\U0001F600", 21));
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);
        var page = dashboard.Page;
        var input = page.Locator("#new-queue-name");
        var status = page.Locator("#create-status");
        await Expect(page.Locator(".panel-head .refresh-every")).ToHaveTextAsync("every 0.2 s"); // the settings are in

        await input.FocusAsync();
        await page.Keyboard.InsertTextAsync(name);
        await page.Locator("#create-queue button[type=submit]").ClickAsync();

        await Expect(status).ToContainTextAsync("may contain only the letters");
        await Expect(status).Not.ToContainTextAsync("characters long");
        // Invalid all the same, for the DevTool's reason rather than the page's count.
        await Expect(input).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(input).ToHaveAccessibleDescriptionAsync(new Regex("may contain only the letters"));
    }

    [Fact]
    public async Task A_body_is_cut_at_the_configured_length()
    {
        var name = $"preview-{Guid.NewGuid().ToString("N")[..8]}";
        await apps.BrokerClient.CreateQueueAsync(name);
        await apps.BrokerClient.SendAsync(QueueRef.ByName(name), new string('y', 300));
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);

        await dashboard.OpenQueueAsync(name);

        var first = dashboard.MessageRows.Nth(0);
        await Expect(first.Locator("button.show-all")).ToHaveTextAsync("Show all 300 characters");
        (await first.Locator("pre").TextContentAsync()).Should().Be(new string('y', 100) + "…");
    }

    [Fact]
    public async Task A_body_of_emoji_is_cut_at_the_configured_number_of_characters_not_of_utf16_units()
    {
        var name = $"emoji-{Guid.NewGuid().ToString("N")[..8]}";
        await apps.BrokerClient.CreateQueueAsync(name);
        // 80 characters in 160 UTF-16 units: within the limit of 100 characters, so shown whole.
        var within = string.Concat(Enumerable.Repeat("🙂", 80));
        var over = string.Concat(Enumerable.Repeat("🙂", 150));
        await apps.BrokerClient.SendAsync(QueueRef.ByName(name), within);
        await apps.BrokerClient.SendAsync(QueueRef.ByName(name), over);
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);

        await dashboard.OpenQueueAsync(name);

        await Expect(dashboard.MessageRows).ToHaveCountAsync(2);
        await Expect(dashboard.MessageRows.Nth(0).Locator("button.show-all")).ToHaveCountAsync(0);
        (await dashboard.MessageRows.Nth(0).Locator("pre").TextContentAsync()).Should().Be(within);
        await Expect(dashboard.MessageRows.Nth(1).Locator("button.show-all")).ToHaveTextAsync("Show all 150 characters");
        (await dashboard.MessageRows.Nth(1).Locator("pre").TextContentAsync()).Should().Be(string.Concat(Enumerable.Repeat("🙂", 100)) + "…");
    }
}
