using FluentAssertions;
using WonderQ.Shared.Contracts;
using static Microsoft.Playwright.Assertions;

namespace WonderQ.DevTool.Tests.Browser;

/// <summary>A DevTool whose page lays out at most 10 queue rows.</summary>
public sealed class LiveAppsWithTenQueueRows() : LiveApps(["--Dashboard:MaxQueueRows=10"]);

/// <summary>
/// A list longer than <c>Dashboard:MaxQueueRows</c>: the page lays out the first rows by id, says how many there are,
/// and its filter finds the others.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class QueueFilterTests(ChromiumFixture chromium) : IAsyncLifetime
{
    private const int QueueCount = 24;

    // Apps of its own for each test, so the list holds exactly these queues.
    private readonly LiveAppsWithTenQueueRows _apps = new();

    private static string Name(int i) => $"q-{i:D2}";

    private static string[] Names(int from, int to) => [.. Enumerable.Range(from, to - from + 1).Select(Name)];

    public async Task InitializeAsync()
    {
        await _apps.InitializeAsync();
        for (var i = 1; i <= QueueCount; i++)
        {
            await _apps.BrokerClient.CreateQueueAsync(Name(i));
        }
    }

    public Task DisposeAsync() => _apps.DisposeAsync();

    private static Task TypeFilterAsync(DashboardPage dashboard, string text) => dashboard.Page.Locator("#queue-filter").FillAsync(text);

    private static Task ExpectRowsAsync(DashboardPage dashboard, string[] names) =>
        Expect(dashboard.Page.Locator("#queue-rows .queue-name")).ToHaveTextAsync(names);

    [Fact]
    public async Task A_long_list_shows_its_first_rows_and_says_how_many_queues_there_are()
    {
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, _apps.Url);

        await ExpectRowsAsync(dashboard, Names(1, 10));
        await Expect(dashboard.Page.Locator("#queue-count")).ToHaveTextAsync("The first 10 of 24 queues by id: filter by name for the others.");
        // The send form offers the same queues: an option for each of 100,000 was most of what the page then took to show.
        await Expect(dashboard.Page.Locator("#send-queue option")).ToHaveTextAsync(Names(1, 10));
    }

    [Fact]
    public async Task The_filter_finds_queues_past_the_first_rows_by_any_part_of_their_name_in_any_case()
    {
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, _apps.Url);
        var count = dashboard.Page.Locator("#queue-count");
        await ExpectRowsAsync(dashboard, Names(1, 10));

        await TypeFilterAsync(dashboard, "Q-2");
        await ExpectRowsAsync(dashboard, Names(20, 24));
        await Expect(count).ToHaveTextAsync("5 of 24 queues match.");
        // The queue chosen to send to stays chosen, and on offer, though the filter hides its row.
        await Expect(dashboard.Page.Locator("#send-queue option")).ToHaveTextAsync([.. Names(20, 24), Name(1)]);
        await Expect(dashboard.Page.Locator("#send-queue")).ToHaveValueAsync(Name(1));

        await TypeFilterAsync(dashboard, "-17");
        await ExpectRowsAsync(dashboard, [Name(17)]);
        await Expect(count).ToHaveTextAsync("1 of 24 queues matches.");

        await TypeFilterAsync(dashboard, "q-");
        await ExpectRowsAsync(dashboard, Names(1, 10));
        await Expect(count).ToHaveTextAsync("The first 10 by id of the 24 queues whose names contain “q-”.");

        await TypeFilterAsync(dashboard, "orders");
        await ExpectRowsAsync(dashboard, []);
        await Expect(count).ToHaveTextAsync("No queue name contains “orders”.");
        // The count line says it: no header is left over no rows.
        await Expect(dashboard.Page.Locator("#queues")).ToBeHiddenAsync();

        await TypeFilterAsync(dashboard, "");
        await ExpectRowsAsync(dashboard, Names(1, 10));
        await Expect(dashboard.Page.Locator("#queues")).ToBeVisibleAsync();
    }

    [Fact]
    public async Task Filtered_rows_keep_refreshing_and_a_new_queue_that_matches_joins_them()
    {
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, _apps.Url);
        await TypeFilterAsync(dashboard, "q-2");
        await ExpectRowsAsync(dashboard, Names(20, 24));

        // Behind the page's back: the filter holds across the refreshes that show them.
        await _apps.BrokerClient.SendAsync(QueueRef.ByName(Name(22)), "while filtered");
        await _apps.BrokerClient.CreateQueueAsync("q-25");

        await Expect(dashboard.QueueRow(Name(22)).Locator(".queue-size")).ToHaveTextAsync("1");
        await ExpectRowsAsync(dashboard, [.. Names(20, 24), "q-25"]);
        await Expect(dashboard.Page.Locator("#queue-count")).ToHaveTextAsync("6 of 25 queues match.");
    }

    [Fact]
    public async Task A_queue_opened_past_the_first_rows_stays_in_the_list_when_the_filter_is_cleared()
    {
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, _apps.Url);
        await TypeFilterAsync(dashboard, "15");
        await dashboard.OpenQueueAsync(Name(15));
        await Expect(dashboard.Page.Locator("#messages-heading")).ToHaveTextAsync($"Messages in {Name(15)}");

        await TypeFilterAsync(dashboard, "");

        await ExpectRowsAsync(dashboard, [.. Names(1, 10), Name(15)]);
        await Expect(dashboard.QueueRow(Name(15)).Locator(".queue-name")).ToHaveAttributeAsync("aria-current", "true");
        // Eleven rows, the last out of order: the count line says which is the eleventh, and why.
        var count = dashboard.Page.Locator("#queue-count");
        await Expect(count).ToHaveTextAsync($"The first 10 of 24 queues by id, and {Name(15)}, which is open: filter by name for the others.");
        await TypeFilterAsync(dashboard, "q-");
        await ExpectRowsAsync(dashboard, [.. Names(1, 10), Name(15)]);
        await Expect(count).ToHaveTextAsync($"The first 10 by id of the 24 queues whose names contain “q-”, and {Name(15)}, which is open.");
        await TypeFilterAsync(dashboard, "");

        // Opened, it is the queue to send to; sent from the form, the message is its.
        await dashboard.SendFromFormAsync(Name(15), "past the first rows");
        await Expect(dashboard.MessageRows.Locator("td.body")).ToHaveTextAsync(["past the first rows"]);
        await Expect(dashboard.QueueRow(Name(15)).Locator(".queue-size")).ToHaveTextAsync("1");
    }

    [Fact]
    public async Task A_queue_created_from_the_page_is_shown_though_past_the_first_rows_and_not_matching_the_filter()
    {
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, _apps.Url);
        var page = dashboard.Page;
        await TypeFilterAsync(dashboard, "q-2");
        await ExpectRowsAsync(dashboard, Names(20, 24));

        await page.Locator("#new-queue-name").FillAsync("orders");
        await page.Locator("#create-queue button[type=submit]").ClickAsync();

        await Expect(page.Locator("#messages-heading")).ToHaveTextAsync("Messages in orders");
        await Expect(page.Locator("#queue-filter")).ToHaveValueAsync("");
        await ExpectRowsAsync(dashboard, [.. Names(1, 10), "orders"]);
        await Expect(dashboard.QueueRow("orders").Locator(".queue-name")).ToHaveAttributeAsync("aria-current", "true");
        await Expect(dashboard.QueueRow("orders")).ToBeInViewportAsync();
        await Expect(page.Locator("#queue-count")).ToHaveTextAsync("The first 10 of 25 queues by id, and orders, which is open: filter by name for the others.");
    }
    [Fact]
    public async Task With_the_queue_chosen_to_send_to_deleted_a_filter_that_matches_nothing_offers_one_placeholder()
    {
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, _apps.Url);
        var page = dashboard.Page;
        var choices = page.Locator("#send-queue option");
        await ExpectRowsAsync(dashboard, Names(1, 10));
        await page.Locator("#send-queue").SelectOptionAsync(Name(5));

        // Deleted elsewhere (another tab), while the filter hides every queue.
        await TypeFilterAsync(dashboard, "orders");
        await _apps.BrokerClient.DeleteQueueAsync(QueueRef.ByName(Name(5)));
        await Expect(page.Locator("#queue-count")).ToHaveTextAsync("No queue name contains “orders”.");
        await Expect(choices).ToHaveTextAsync(["no queue matches the filter"]);
        await Expect(page.Locator("#send-queue")).ToHaveValueAsync("");
        await page.Locator("#send-message button[type=submit]").ClickAsync();
        await Expect(page.Locator("#send-status")).ToHaveTextAsync("Choose a queue.");

        // The filter cleared, the form still asks rather than send to the first queue on offer.
        await TypeFilterAsync(dashboard, "");
        await Expect(choices).ToHaveTextAsync(["choose a queue", .. Names(1, 4), .. Names(6, 11)]);
        await Expect(page.Locator("#send-queue")).ToHaveValueAsync("");
        (await _apps.BrokerClient.ListQueuesAsync()).Should().OnlyContain(q => q.QueueSize == 0);
    }

    [Fact]
    public async Task The_filter_cleared_after_every_queue_is_deleted_leaves_the_focus_on_the_create_form()
    {
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, _apps.Url);
        var page = dashboard.Page;
        var filter = page.Locator("#queue-filter");
        await TypeFilterAsync(dashboard, "q-");
        await ExpectRowsAsync(dashboard, Names(1, 10));

        for (var i = 1; i <= QueueCount; i++)
        {
            await _apps.BrokerClient.DeleteQueueAsync(QueueRef.ByName(Name(i)));
        }

        await ExpectRowsAsync(dashboard, []);
        await Expect(page.Locator("#queue-count")).ToHaveTextAsync("No queue name contains “q-”.");
        await filter.FocusAsync();
        await page.Keyboard.PressAsync("Control+A");
        await page.Keyboard.PressAsync("Backspace");

        // The filter's box goes with the last queue; its focus is not dropped to the top of the page with it, but goes
        // where the page asks for the next step.
        await Expect(page.Locator("#queue-tools")).ToBeHiddenAsync();
        await Expect(page.Locator("#no-queues")).ToHaveTextAsync("No queues yet. Create one below.");
        await Expect(page.Locator("#queues")).ToBeHiddenAsync();
        await Expect(page.Locator("#new-queue-name")).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("Tab");
        await Expect(page.Locator("#create-queue button[type=submit]")).ToBeFocusedAsync();
    }
}
