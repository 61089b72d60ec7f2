using FluentAssertions;
using Microsoft.Playwright;
using WonderQ.Shared.Contracts;
using static Microsoft.Playwright.Assertions;

namespace WonderQ.DevTool.Tests.Browser;

/// <summary>
/// Renders the dashboard with a few queues at laptop and at phone width, checks it fits, and saves screenshots to
/// <c>screenshots/</c> beside the test assembly. With <c>WONDERQ_UPDATE_SCREENSHOTS=1</c> they also replace
/// <c>docs/dashboard.png</c> and <c>docs/dashboard-phone.png</c>, the pictures the README shows.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class DashboardScreenshotTests(ChromiumFixture chromium) : IAsyncLifetime
{
    // Apps of its own, so the picture shows these queues and no test's leftovers.
    private readonly LiveApps _apps = new();

    public async Task InitializeAsync()
    {
        await _apps.InitializeAsync();
        var broker = _apps.BrokerClient;
        var orders = QueueRef.ByName("orders");
        await broker.CreateQueueAsync("orders");
        for (var i = 1; i <= 6; i++)
        {
            await broker.SendAsync(orders, $$"""{"order_id": {{1040 + i}}, "sku": "WQ-{{i}}", "qty": {{i % 3 + 1}}}""");
        }

        await broker.ConsumeAsync(orders, size: 2, waitTimeSeconds: 0, visibilityTimeoutSeconds: 600);
        await broker.CreateQueueAsync("emails");
        foreach (var to in new[] { "ada@example.com", "grace@example.com", "linus@example.com" })
        {
            await broker.SendAsync(QueueRef.ByName("emails"), $"welcome mail to {to}");
        }

        await broker.CreateQueueAsync("audit-log");
        await broker.SendAsync(QueueRef.ByName("audit-log"), "<img src=x onerror=alert(1)>");
    }

    public Task DisposeAsync() => _apps.DisposeAsync();

    [Theory]
    [InlineData(1280, 800, "dashboard.png")]
    [InlineData(390, 844, "dashboard-phone.png")]
    public async Task Dashboard_fits_the_screen_without_sideways_scrolling(int width, int height, string fileName)
    {
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, _apps.Url, width, height);
        await Expect(dashboard.QueueRow("orders").Locator(".in-flight-size")).ToHaveTextAsync("2");
        await dashboard.OpenQueueAsync("orders");
        await Expect(dashboard.MessageRows).ToHaveCountAsync(6);

        var overflow = await dashboard.Page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth");
        await SaveAsync(dashboard.Page, fileName);

        overflow.Should().BeLessThanOrEqualTo(0, "the page must be readable without scrolling sideways at {0} px", width);
        dashboard.ConsoleErrors.Should().BeEmpty();
    }

    private static async Task SaveAsync(IPage page, string fileName)
    {
        var bytes = await page.ScreenshotAsync(new PageScreenshotOptions { FullPage = true });
        var local = Path.Combine(AppContext.BaseDirectory, "screenshots", fileName);
        Directory.CreateDirectory(Path.GetDirectoryName(local)!);
        await File.WriteAllBytesAsync(local, bytes);

        if (Environment.GetEnvironmentVariable("WONDERQ_UPDATE_SCREENSHOTS") == "1" && RepositoryRoot() is { } root)
        {
            await File.WriteAllBytesAsync(Path.Combine(root, "docs", fileName), bytes);
        }
    }

    private static string? RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "WonderQ.sln")))
            {
                return directory.FullName;
            }
        }

        return null;
    }
}
