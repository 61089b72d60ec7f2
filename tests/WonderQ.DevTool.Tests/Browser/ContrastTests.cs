using FluentAssertions;
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
}
