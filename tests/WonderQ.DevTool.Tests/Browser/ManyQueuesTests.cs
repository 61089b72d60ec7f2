using FluentAssertions;
using WonderQ.Shared.Contracts;
using static Microsoft.Playwright.Assertions;

namespace WonderQ.DevTool.Tests.Browser;

/// <summary>The dashboard of a system with 200 queues: the list scrolls in a box of its own instead of stretching the page.</summary>
[Collection(BrowserCollection.Name)]
public sealed class ManyQueuesTests(ChromiumFixture chromium) : IAsyncLifetime
{
    private const int QueueCount = 200;

    // Apps of its own, so the list holds exactly these queues.
    private readonly LiveApps _apps = new();

    private static string Name(int i) => $"queue-{i:D3}";

    public async Task InitializeAsync()
    {
        await _apps.InitializeAsync();
        for (var i = 1; i <= QueueCount; i++)
        {
            await _apps.BrokerClient.CreateQueueAsync(Name(i));
        }

        await _apps.BrokerClient.SendAsync(QueueRef.ByName(Name(190)), "far down the list");
    }

    public Task DisposeAsync() => _apps.DisposeAsync();

    [Theory]
    [InlineData(1280, 800)]
    [InlineData(390, 844)]
    public async Task With_200_queues_the_forms_are_not_pushed_below_every_row(int width, int height)
    {
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, _apps.Url, width, height);
        var page = dashboard.Page;
        var last = dashboard.QueueRow(Name(QueueCount));
        await Expect(last).ToHaveCountAsync(1);

        var sendFormBottom = await page.Locator("#send-message").EvaluateAsync<double>("form => form.getBoundingClientRect().bottom + window.scrollY");
        sendFormBottom.Should().BeLessThan(1.5 * height, "both forms are within a screen and a half of the top of the page at {0} px", width);

        await last.ScrollIntoViewIfNeededAsync();
        await Expect(last).ToBeInViewportAsync();
        // The header stays on top of the list as it scrolls.
        await Expect(page.Locator("table.queues th").First).ToBeInViewportAsync(new() { Ratio = 1 });
        var overflow = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth");
        overflow.Should().BeLessThanOrEqualTo(0, "the page must be readable without scrolling sideways");
    }

    // At laptop width, where the messages are shown beside the list; at phone width they are below it, and the page
    // moves down to them.
    [Fact]
    public async Task A_queue_opened_or_created_far_down_the_list_stays_in_view_beside_its_messages()
    {
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, _apps.Url, 1280, 800);
        var page = dashboard.Page;
        var farDown = dashboard.QueueRow(Name(190));
        await Expect(dashboard.QueueRow(Name(QueueCount))).ToHaveCountAsync(1);

        await dashboard.OpenQueueAsync(Name(190));

        await Expect(dashboard.MessageRows.Locator("td.body")).ToHaveTextAsync(["far down the list"]);
        await Expect(page.Locator("#messages-heading")).ToBeInViewportAsync();
        await Expect(farDown).ToBeInViewportAsync();

        var created = Name(QueueCount + 1);
        await page.Locator("#new-queue-name").FillAsync(created);
        await page.Locator("#create-queue button[type=submit]").ClickAsync();

        await Expect(page.Locator("#messages-heading")).ToHaveTextAsync($"Messages in {created}");
        await Expect(dashboard.QueueRow(created).Locator(".queue-name")).ToHaveAttributeAsync("aria-current", "true");
        await Expect(dashboard.QueueRow(created)).ToBeInViewportAsync(new() { Ratio = 1 });
        await Expect(page.Locator("#create-queue")).ToBeInViewportAsync();
    }
}
