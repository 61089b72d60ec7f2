using System.Text.RegularExpressions;
using FluentAssertions;
using Microsoft.Playwright;
using WonderQ.Shared.Contracts;
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

    [Fact]
    public async Task A_form_s_error_marks_the_field_it_is_about_as_invalid_and_describes_it_with_the_error()
    {
        var name = NewQueueName("taken");
        await apps.BrokerClient.CreateQueueAsync(name);
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);
        var page = dashboard.Page;
        var createName = page.Locator("#new-queue-name");
        var queue = page.Locator("#send-queue");
        var body = page.Locator("#send-body");
        await Expect(dashboard.QueueRow(name)).ToHaveCountAsync(1);

        await createName.FillAsync(name);
        await page.Locator("#create-queue button[type=submit]").ClickAsync();
        await Expect(page.Locator("#create-status")).ToContainTextAsync("already exists");
        // Announced once as it appears; said again, as the field's description, on coming back to the field.
        await Expect(createName).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(createName).ToHaveAccessibleDescriptionAsync($"A queue named '{name}' already exists.");

        await createName.FillAsync(NewQueueName("fine"));
        await page.Locator("#create-queue button[type=submit]").ClickAsync();
        await Expect(page.Locator("#create-status")).ToContainTextAsync("Created");
        await Expect(createName).Not.ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(createName).ToHaveAccessibleDescriptionAsync("");

        await queue.SelectOptionAsync(name);
        await body.FillAsync(new string('y', 262_145));
        await page.Locator("#send-message button[type=submit]").ClickAsync();
        await Expect(page.Locator("#send-status")).ToContainTextAsync("the limit is 262144 bytes");
        await Expect(body).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(body).ToHaveAccessibleDescriptionAsync(new Regex("^'body' is 262145 bytes"));
        await Expect(queue).Not.ToHaveAttributeAsync("aria-invalid", "true");

        await body.FillAsync("small");
        await page.Locator("#send-message button[type=submit]").ClickAsync();
        await Expect(page.Locator("#send-status")).ToContainTextAsync("Sent message");
        await Expect(body).Not.ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(body).ToHaveAccessibleDescriptionAsync("");
    }

    [Fact]
    public async Task A_message_consumed_while_the_focus_is_in_its_row_leaves_the_focus_in_the_messages_panel()
    {
        var name = NewQueueName("reading");
        var queue = QueueRef.ByName(name);
        await apps.BrokerClient.CreateQueueAsync(name);
        await apps.BrokerClient.SendAsync(queue, new string('z', 2_500));
        await apps.BrokerClient.SendAsync(queue, "short, with no button");
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);
        var page = dashboard.Page;
        await dashboard.OpenQueueAsync(name);
        var showAll = dashboard.MessageRows.Nth(0).Locator("button.show-all");
        await showAll.FocusAsync();

        // A consumer takes the message being read: its row goes, and the row now in its place has no button to take the focus.
        var taken = (await apps.BrokerClient.ConsumeAsync(queue, size: 1, waitTimeSeconds: 0, visibilityTimeoutSeconds: 30)).Single();
        (await apps.BrokerClient.DeleteMessageAsync(taken.Id, taken.ReservationToken)).Should().BeTrue();
        await Expect(dashboard.MessageRows).ToHaveCountAsync(1);

        // Not dropped on the page's body, from where the next Tab starts again at the filter above the queues.
        await Expect(page.Locator("#messages-heading")).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("Tab");
        await Expect(page.Locator("#size")).ToBeFocusedAsync();
    }

    [Fact]
    public async Task Closing_the_delete_dialog_of_a_queue_deleted_meanwhile_leaves_the_focus_on_the_next_queue()
    {
        var gone = NewQueueName("gone");
        var next = NewQueueName("next");
        await apps.BrokerClient.CreateQueueAsync(gone);
        await apps.BrokerClient.CreateQueueAsync(next);
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);
        var page = dashboard.Page;
        await Expect(dashboard.QueueRow(next)).ToHaveCountAsync(1);
        await dashboard.QueueRow(gone).Locator(".delete-queue").FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.Locator("#confirm-delete button[value=cancel]")).ToBeFocusedAsync();

        // Deleted elsewhere while the dialog is open: the button the dialog would give the focus back to goes with its row.
        (await apps.BrokerClient.DeleteQueueAsync(QueueRef.ByName(gone))).Should().BeTrue();
        await Expect(dashboard.QueueRow(gone)).ToHaveCountAsync(0);
        await page.Keyboard.PressAsync("Escape");

        await Expect(page.Locator("#confirm-delete")).ToBeHiddenAsync();
        await Expect(dashboard.QueueRow(next).Locator(".queue-name")).ToBeFocusedAsync();
    }

    [Fact]
    public async Task The_size_picker_says_that_it_chooses_how_many_of_the_oldest_messages_to_show()
    {
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);
        var page = dashboard.Page;
        await Expect(page.Locator("#size option")).Not.ToHaveCountAsync(0);

        // Chromium's own name, as a screen reader gets it: "oldest" alone, beside "10", said neither what nor of what.
        var cdp = await page.Context.NewCDPSessionAsync(page);
        var tree = (await cdp.SendAsync("Accessibility.getFullAXTree"))!.Value;
        var comboBoxes = tree.GetProperty("nodes").EnumerateArray()
            .Where(node => node.TryGetProperty("role", out var role) && role.GetProperty("value").GetString() == "combobox")
            .Select(node => node.TryGetProperty("name", out var name) ? name.GetProperty("value").GetString() : null)
            .ToList();
        comboBoxes.Should().Contain("How many of the oldest messages to show");
        await Expect(page.Locator("#size")).ToHaveAccessibleNameAsync("How many of the oldest messages to show");
    }

    [Theory]
    [InlineData("Total", "queue_size: every message")]
    [InlineData("Ready", "retrievable_size: a consumer could receive now")]
    [InlineData("In flight", "in_flight_size: reserved under a visibility timeout")]
    public async Task A_queue_count_s_column_header_is_described_by_its_explanation_not_only_by_a_tooltip(string header, string explanation)
    {
        var name = NewQueueName("counts");
        await apps.BrokerClient.CreateQueueAsync(name);
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);
        var page = dashboard.Page;
        await Expect(dashboard.QueueRow(name)).ToHaveCountAsync(1);
        var th = page.Locator("#queues").GetByRole(AriaRole.Columnheader, new() { Name = header, Exact = true });

        await ShouldBeDescribedByAsync(page, th, header, explanation);
    }

    [Theory]
    [InlineData("Created", "created_at, in local time")]
    [InlineData("Retrievable at", "retrievable_at, in local time: when a consumed message may be received again")]
    [InlineData("Received", "receive_count: how many times it was consumed")]
    [InlineData("State", "in flight: reserved by a consumer until its visibility timeout ends")]
    public async Task A_message_column_s_header_is_described_by_its_explanation_not_only_by_a_tooltip(string header, string explanation)
    {
        var name = NewQueueName("described");
        await apps.BrokerClient.CreateQueueAsync(name);
        await apps.BrokerClient.SendAsync(QueueRef.ByName(name), "one");
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);
        var page = dashboard.Page;
        await dashboard.OpenQueueAsync(name);
        await Expect(dashboard.MessageRows).ToHaveCountAsync(1);
        var th = page.Locator("#messages").GetByRole(AriaRole.Columnheader, new() { Name = header, Exact = true });

        await ShouldBeDescribedByAsync(page, th, header, explanation);
    }

    /// <summary>
    /// A title shows on a mouse's hover only, and screen readers read it as a description or not at all: the explanation
    /// is the header's description by reference, from text that is on the page. Said on the header, not in it: every
    /// cell of its column would repeat it, and the page would show it twice.
    /// </summary>
    private static async Task ShouldBeDescribedByAsync(IPage page, ILocator th, string header, string explanation)
    {
        var describedBy = await th.GetAttributeAsync("aria-describedby");
        describedBy.Should().NotBeNullOrEmpty();
        await Expect(page.Locator($"#{describedBy}")).ToHaveTextAsync(explanation);
        await Expect(th).ToHaveAccessibleDescriptionAsync(explanation);
        await Expect(th).ToHaveAccessibleNameAsync(header);
        await Expect(page.Locator($"#{describedBy}")).ToBeHiddenAsync();
    }

    [Theory]
    [InlineData("queues", "Total", "queue_size: every message")]
    [InlineData("messages", "Received", "receive_count: how many times it was consumed")]
    public async Task The_headers_explanations_are_in_reach_of_a_keyboard_folded_under_their_table(string table, string header, string explanation)
    {
        var name = NewQueueName("legend");
        await apps.BrokerClient.CreateQueueAsync(name);
        await apps.BrokerClient.SendAsync(QueueRef.ByName(name), "one");
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);
        var page = dashboard.Page;
        await Expect(dashboard.QueueRow(name)).ToHaveCountAsync(1);
        var legend = page.Locator($"#{table}-legend");
        var summary = legend.Locator("summary");
        var means = legend.Locator("dd").Filter(new() { HasText = explanation });
        var th = page.Locator($"#{table}").GetByRole(AriaRole.Columnheader, new() { Name = header, Exact = true });

        // Tab from what comes before the legend: the last queue's Delete button, or the size picker over the messages.
        if (table == "queues")
        {
            await page.Locator("#queue-rows tr").Last.Locator(".delete-queue").FocusAsync();
        }
        else
        {
            await dashboard.OpenQueueAsync(name);
            await Expect(dashboard.MessageRows).ToHaveCountAsync(1);
            await page.Locator("#size").FocusAsync();
        }

        // Folded, a line under the table: the explanations are the headers' descriptions there, and not in the way.
        await Expect(summary).ToBeVisibleAsync();
        await Expect(means).ToBeHiddenAsync();
        (await summary.BoundingBoxAsync())!.Height.Should().BeLessThan(30);
        (await ChromiumDescriptionAsync(page, header)).Should().Be(explanation);
        await Expect(th).ToHaveAccessibleDescriptionAsync(explanation);

        // A title shows on a mouse's hover only: a keyboard reaches the legend and opens it.
        await page.Keyboard.PressAsync("Tab");
        await Expect(summary).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("Enter");
        await Expect(means).ToBeVisibleAsync();
        await Expect(legend.Locator("dt").Filter(new() { HasText = header })).ToBeVisibleAsync();
        await Expect(th).ToHaveAccessibleDescriptionAsync(explanation);
        await page.Keyboard.PressAsync("Space");
        await Expect(means).ToBeHiddenAsync();

        // And a mouse, or a finger, which has no hover either.
        await summary.ClickAsync();
        await Expect(means).ToBeVisibleAsync();
        dashboard.ConsoleErrors.Should().BeEmpty();
    }

    [Theory]
    [InlineData(1280, 860)]
    [InlineData(390, 844)]
    public async Task The_headers_are_named_in_their_own_case_not_in_the_capitals_they_are_shown_in(int width, int height)
    {
        var name = NewQueueName("case");
        await apps.BrokerClient.CreateQueueAsync(name);
        await apps.BrokerClient.SendAsync(QueueRef.ByName(name), "one");
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url, width, height);
        await Expect(dashboard.QueueRow(name)).ToHaveCountAsync(1);
        await dashboard.OpenQueueAsync(name);
        await Expect(dashboard.MessageRows).ToHaveCountAsync(1);

        // Chromium names a header by its text as shown, after text-transform: "IN FLIGHT", which some screen readers
        // spell out letter by letter. At a phone's width the message table's headers are its cards' captions.
        var cdp = await dashboard.Page.Context.NewCDPSessionAsync(dashboard.Page);
        var tree = (await cdp.SendAsync("Accessibility.getFullAXTree"))!.Value;
        var nodes = tree.GetProperty("nodes").EnumerateArray()
            .Where(node => node.TryGetProperty("name", out var n) && n.TryGetProperty("value", out var v) && v.ValueKind == System.Text.Json.JsonValueKind.String)
            .Select(node => (Role: node.GetProperty("role").GetProperty("value").GetString(), Name: node.GetProperty("name").GetProperty("value").GetString()!))
            .ToList();
        var headers = nodes.Where(n => n.Role == "columnheader").Select(n => n.Name).ToList();
        headers.Should().Contain(["Queue", "Total", "Ready", "In flight", "Actions"]);
        string[] messageColumns = ["Id", "Body", "Created", "Retrievable at", "Received", "State"];
        if (width > 600)
        {
            headers.Should().Contain(messageColumns);
        }
        else
        {
            var cells = nodes.Where(n => n.Role == "cell").Select(n => n.Name).ToList();
            foreach (var column in messageColumns)
            {
                cells.Should().Contain(cell => cell.StartsWith(column + " ", StringComparison.Ordinal), "a card's caption names its cell");
            }
        }
    }

    /// <summary>The description Chromium itself gives a column header, as a screen reader gets it; found by its name in any case.</summary>
    private static async Task<string?> ChromiumDescriptionAsync(IPage page, string header)
    {
        var cdp = await page.Context.NewCDPSessionAsync(page);
        var tree = (await cdp.SendAsync("Accessibility.getFullAXTree"))!.Value;
        return tree.GetProperty("nodes").EnumerateArray()
            .Where(node => node.TryGetProperty("role", out var role) && role.GetProperty("value").GetString() == "columnheader")
            .Where(node => node.TryGetProperty("name", out var name) && string.Equals(name.GetProperty("value").GetString(), header, StringComparison.OrdinalIgnoreCase))
            .Select(node => node.TryGetProperty("description", out var description) ? description.GetProperty("value").GetString() : null)
            .First();
    }

    [Fact]
    public async Task Opening_a_queue_announces_once_what_it_shows_and_its_refreshes_announce_nothing()
    {
        var name = NewQueueName("told");
        var queue = QueueRef.ByName(name);
        await apps.BrokerClient.CreateQueueAsync(name);
        for (var i = 0; i < 3; i++)
        {
            await apps.BrokerClient.SendAsync(queue, $"message {i}");
        }

        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);
        var page = dashboard.Page;
        var peeks = 0;
        page.Request += (_, request) =>
        {
            if (request.Url.Contains($"/queues/{name}?", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref peeks);
            }
        };
        await Expect(dashboard.QueueRow(name)).ToHaveCountAsync(1);
        var status = page.Locator("#messages-panel").GetByRole(AriaRole.Status);

        // The messages appear in the other panel, out of a screen reader's way: without this, opening a queue said nothing.
        await dashboard.OpenQueueAsync(name);
        await Expect(status).ToHaveTextAsync($"{name}: 3 messages shown");

        // A live region changed by the poll would talk every second: neither a refresh that finds the list as it was nor
        // one that finds a new message touches it.
        await page.EvaluateAsync("""
            () => {
              window.statusChanges = 0;
              new MutationObserver(() => window.statusChanges++)
                .observe(document.querySelector("#messages-panel [role=status]"), { childList: true, characterData: true, subtree: true });
            }
            """);
        var before = Volatile.Read(ref peeks);
        await apps.BrokerClient.SendAsync(queue, "one more");
        await Expect(dashboard.MessageRows).ToHaveCountAsync(4);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (Volatile.Read(ref peeks) < before + 4 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Volatile.Read(ref peeks).Should().BeGreaterThanOrEqualTo(before + 4);
        (await page.EvaluateAsync<int>("() => window.statusChanges")).Should().Be(0);
        await Expect(status).ToHaveTextAsync($"{name}: 3 messages shown");
    }
}
