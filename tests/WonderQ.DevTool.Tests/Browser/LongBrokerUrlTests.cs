using FluentAssertions;
using static Microsoft.Playwright.Assertions;

namespace WonderQ.DevTool.Tests.Browser;

/// <summary>A DevTool whose <c>Broker:Url</c> is long and has no place to break a line, with nothing listening there.</summary>
public sealed class LiveAppsWithLongBrokerUrl() : LiveApps([$"--Broker:Url={LiveAppsWithLongBrokerUrl.FarBrokerUrl}"])
{
    // A path of 63 letters, as long as a host name's label may be: neither has a hyphen or a space to wrap at.
    public static readonly string FarBrokerUrl = $"http://127.0.0.1:{FreePort.Next()}/{new string('w', 63)}/";
}

[Collection(BrowserCollection.Name)]
public sealed class LongBrokerUrlTests(ChromiumFixture chromium, LiveAppsWithLongBrokerUrl apps) : IClassFixture<LiveAppsWithLongBrokerUrl>
{
    [Fact]
    public async Task The_banner_wraps_a_long_broker_url_inside_a_phone_width_window()
    {
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url, 390, 844);

        await Expect(dashboard.Banner).ToContainTextAsync(LiveAppsWithLongBrokerUrl.FarBrokerUrl);

        var overflow = await dashboard.Page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth");
        overflow.Should().BeLessThanOrEqualTo(0, "the banner, which says what is wrong, must be read without scrolling sideways");
    }
}
