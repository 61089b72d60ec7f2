using FluentAssertions;
using static Microsoft.Playwright.Assertions;

namespace WonderQ.DevTool.Tests.Browser;

/// <summary>The dashboard as someone with only a keyboard, or a screen reader, uses it.</summary>
[Collection(BrowserCollection.Name)]
public sealed class KeyboardAndScreenReaderTests(ChromiumFixture chromium, LiveApps apps) : IClassFixture<LiveApps>
{
    private static string NewQueueName(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}";

    [Fact]
    public async Task A_form_sent_from_its_button_with_the_keyboard_keeps_the_focus_on_that_button()
    {
        var name = NewQueueName("kbd");
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);
        var page = dashboard.Page;
        var create = page.Locator("#create-queue button[type=submit]");
        var send = page.Locator("#send-message button[type=submit]");

        await page.Locator("#new-queue-name").FillAsync(name);
        await create.FocusAsync();
        await page.Keyboard.PressAsync("Space");
        await Expect(page.Locator("#create-status")).ToContainTextAsync($"Created {name}");
        // Left on the page's body, a screen reader starts again from the top, and Enter sends nothing more.
        await Expect(create).ToBeFocusedAsync();

        await Expect(page.Locator("#send-queue")).ToHaveValueAsync(name);
        await send.FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.Locator("#send-status")).ToContainTextAsync($"to {name}.");
        await Expect(send).ToBeFocusedAsync();
        // Pressed again once the first is answered, it sends another.
        await Expect(send).ToBeEnabledAsync();
        await page.Keyboard.PressAsync("Enter");
        await Expect(dashboard.QueueRow(name).Locator(".queue-size")).ToHaveTextAsync("2");
        dashboard.ConsoleErrors.Should().BeEmpty();
    }
}
