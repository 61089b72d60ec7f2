using Microsoft.Playwright;

namespace WonderQ.DevTool.Tests.Browser;

/// <summary>The dashboard open in a fresh browser context, with what it did that it should not have: dialogs, console errors.</summary>
public sealed class DashboardPage : IAsyncDisposable
{
    private readonly IBrowserContext _context;

    private DashboardPage(IBrowserContext context, IPage page)
    {
        _context = context;
        Page = page;
        page.Dialog += (_, dialog) =>
        {
            Dialogs.Add($"{dialog.Type}: {dialog.Message}");
            _ = dialog.DismissAsync();
        };
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                ConsoleErrors.Add(message.Text);
            }
        };
        page.PageError += (_, error) => ConsoleErrors.Add(error);
    }

    public IPage Page { get; }

    public List<string> Dialogs { get; } = [];

    public List<string> ConsoleErrors { get; } = [];

    public static async Task<DashboardPage> OpenAsync(IBrowser browser, Uri devToolUrl, int width = 1280, int height = 860)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = devToolUrl.ToString(),
            ViewportSize = new ViewportSize { Width = width, Height = height },
        });
        var page = await context.NewPageAsync();
        var dashboard = new DashboardPage(context, page);
        await page.GotoAsync("/");
        return dashboard;
    }

    public ILocator QueueRow(string name) => Page.Locator($"#queue-rows tr[data-queue='{name}']");

    public ILocator MessageRows => Page.Locator("#message-rows tr");

    public ILocator Banner => Page.Locator("#banner");

    public Task OpenQueueAsync(string name) => QueueRow(name).Locator(".queue-name").ClickAsync();

    public async Task SendFromFormAsync(string queue, string body)
    {
        await Page.Locator("#send-queue").SelectOptionAsync(queue);
        await Page.Locator("#send-body").FillAsync(body);
        await Page.Locator("#send-message button[type=submit]").ClickAsync();
    }

    /// <summary>
    /// The next poll's GET of <paramref name="url"/> is read from the DevTool at once, then held on its way to the page
    /// until the returned action lets it through; other requests pass.
    /// </summary>
    public async Task<Action> HoldNextAnswerAsync(string url)
    {
        var fetched = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = 0;
        await Page.RouteAsync(url, async route =>
        {
            if (route.Request.Method != "GET" || Interlocked.Exchange(ref held, 1) == 1)
            {
                await route.ContinueAsync();
                return;
            }

            var before = await route.FetchAsync();
            fetched.SetResult();
            await release.Task;
            await route.FulfillAsync(new() { Response = before });
        });
        await fetched.Task.WaitAsync(TimeSpan.FromSeconds(15));
        return () => release.SetResult();
    }

    public async ValueTask DisposeAsync() => await _context.DisposeAsync();
}
