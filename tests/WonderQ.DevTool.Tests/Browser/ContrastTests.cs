using FluentAssertions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace WonderQ.DevTool.Tests.Browser;

/// <summary>The dashboard's colours as someone with low vision sees them, computed from the styles the browser applies.</summary>
[Collection(BrowserCollection.Name)]
public sealed class ContrastTests(ChromiumFixture chromium, LiveApps apps) : IClassFixture<LiveApps>
{
    // WCAG's contrast ratio of two opaque sRGB colours given as the browser's rgb(r, g, b).
    private const string ContrastScript = """
        ([a, b]) => {
          const channels = (c) => c.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number);
          const linear = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
          const luminance = (c) => { const [r, g, b] = channels(c).map(linear); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
          const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
          return (x + 0.05) / (y + 0.05);
        }
        """;

    [Theory]
    [InlineData("#queue-filter")]
    [InlineData("#new-queue-name")]
    [InlineData("#send-queue")]
    [InlineData("#send-body")]
    [InlineData("#size")]
    public async Task A_field_s_edge_stands_out_from_the_white_panel_around_it(string field)
    {
        await apps.BrokerClient.CreateQueueAsync($"edge-{Guid.NewGuid().ToString("N")[..8]}");
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);
        var locator = dashboard.Page.Locator(field);
        await Expect(locator).ToBeVisibleAsync();

        // White on white, a field is seen only by its border: WCAG asks 3:1 of what identifies a control.
        var colours = await locator.EvaluateAsync<string[]>(
            "f => [getComputedStyle(f).borderTopColor, getComputedStyle(f).backgroundColor, getComputedStyle(f.closest('.panel')).backgroundColor]");
        colours[1].Should().Be(colours[2], "the field is as white as its panel, so only its border shows where it is");
        var ratio = await dashboard.Page.EvaluateAsync<double>(ContrastScript, new[] { colours[0], colours[2] });
        ratio.Should().BeGreaterThanOrEqualTo(3, "the border {0} against the panel {1}", colours[0], colours[2]);
    }

    [Theory]
    [InlineData("create")]
    [InlineData("send")]
    [InlineData("delete")]
    public async Task A_button_busy_with_its_request_looks_busy_keeps_the_focus_and_keeps_its_contrast(string which)
    {
        var name = $"busy-{Guid.NewGuid().ToString("N")[..8]}";
        await apps.BrokerClient.CreateQueueAsync(name);
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);
        var page = dashboard.Page;
        await Expect(dashboard.QueueRow(name)).ToHaveCountAsync(1);
        var (button, idle, busy, url, method) = which switch
        {
            "create" => (page.Locator("#create-queue button[type=submit]"), "Create", "Creating…", "**/queues", "POST"),
            "send" => (page.Locator("#send-message button[type=submit]"), "Send", "Sending…", "**/messages", "POST"),
            _ => (page.Locator("#confirm-button"), "Delete queue", "Deleting…", "**/queues/*", "DELETE"),
        };

        // A slow broker: the request is held on its way until the button has been looked at.
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await page.RouteAsync(url, async route =>
        {
            if (route.Request.Method == method)
            {
                await release.Task;
            }

            await route.ContinueAsync();
        });
        switch (which)
        {
            case "create":
                await page.Locator("#new-queue-name").FillAsync($"{name}-new");
                break;
            case "send":
                await page.Locator("#send-queue").SelectOptionAsync(name);
                break;
            default:
                await dashboard.QueueRow(name).Locator(".delete-queue").ClickAsync();
                break;
        }

        var before = await LookAsync(button);
        await button.FocusAsync();
        await page.Keyboard.PressAsync("Enter");

        // Marked busy for a screen reader only, it looked as before: nothing showed that the press was taken.
        await Expect(button).ToHaveAttributeAsync("aria-disabled", "true");
        await Expect(button).ToHaveTextAsync(busy);
        await Expect(button).ToBeFocusedAsync();
        var during = await LookAsync(button);
        during.Background.Should().NotBe(before.Background, "a busy button looks unlike one that takes a press");
        var label = await page.EvaluateAsync<double>(ContrastScript, new[] { during.Colour, during.Background });
        label.Should().BeGreaterThanOrEqualTo(4.5, "the busy label {0} against its background {1}", during.Colour, during.Background);
        var edge = await page.EvaluateAsync<double>(ContrastScript, new[] { during.Border, during.Around });
        edge.Should().BeGreaterThanOrEqualTo(3, "the busy button's border {0} against {1} around it", during.Border, during.Around);

        release.SetResult();
        if (which == "delete")
        {
            await Expect(page.Locator("#confirm-delete")).ToBeHiddenAsync();
            await Expect(dashboard.QueueRow(name)).ToHaveCountAsync(0);
        }
        else
        {
            await Expect(button).ToHaveTextAsync(idle);
            await Expect(button).Not.ToHaveAttributeAsync("aria-disabled", "true");
            await Expect(button).ToBeFocusedAsync();
            (await LookAsync(button)).Should().Be(before);
        }

        dashboard.ConsoleErrors.Should().BeEmpty();
    }

    private sealed record Look(string Colour, string Background, string Border, string Around);

    /// <summary>A button's colours as the browser applies them, and the background of the panel or dialog it is on.</summary>
    private static async Task<Look> LookAsync(ILocator button)
    {
        var colours = await button.EvaluateAsync<string[]>("""
            b => {
              const style = getComputedStyle(b);
              return [style.color, style.backgroundColor, style.borderTopColor, getComputedStyle(b.closest('.panel, dialog')).backgroundColor];
            }
            """);
        return new(colours[0], colours[1], colours[2], colours[3]);
    }
}
