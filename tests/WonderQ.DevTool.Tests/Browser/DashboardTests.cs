using System.Text.RegularExpressions;
using FluentAssertions;
using Microsoft.Playwright;
using WonderQ.Shared.Contracts;
using WonderQ.Shared.Json;
using static Microsoft.Playwright.Assertions;

namespace WonderQ.DevTool.Tests.Browser;

[Collection(BrowserCollection.Name)]
public sealed class DashboardTests(ChromiumFixture chromium, LiveApps apps) : IClassFixture<LiveApps>
{
    private const string HostileBody = "<img src=x onerror=alert(1)>";

    private static string NewQueueName(string prefix = "q") => $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>A DevTool's <c>GET /queues</c> answer listing these queues, each without messages, for a page route to serve.</summary>
    private static string EmptyQueuesJson(IEnumerable<(long Id, string Name)> queues) =>
        System.Text.Json.JsonSerializer.Serialize(queues.Select(q => new QueueCounts(q.Id, q.Name, 0, 0, 0)), WonderQJson.Options);

    /// <summary>A new queue, and the dashboard open with it listed.</summary>
    private async Task<(string Name, DashboardPage Dashboard)> WithNewQueueAsync(string prefix)
    {
        var name = NewQueueName(prefix);
        await apps.BrokerClient.CreateQueueAsync(name);
        var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);
        await Expect(dashboard.QueueRow(name)).ToHaveCountAsync(1);
        return (name, dashboard);
    }

    [Fact]
    public async Task Table_shows_a_queue_and_its_counts_change_after_a_message_is_sent()
    {
        var name = NewQueueName();
        await apps.BrokerClient.CreateQueueAsync(name);
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);
        var row = dashboard.QueueRow(name);
        await Expect(row.Locator(".queue-size")).ToHaveTextAsync("0");

        // Sent behind the page's back: the page must pick it up by itself, without a reload.
        await apps.BrokerClient.SendAsync(QueueRef.ByName(name), "from a producer");
        await Expect(row.Locator(".queue-size")).ToHaveTextAsync("1");
        await Expect(row.Locator(".retrievable-size")).ToHaveTextAsync("1");

        await apps.BrokerClient.ConsumeAsync(QueueRef.ByName(name), size: 1, waitTimeSeconds: 0, visibilityTimeoutSeconds: 300);
        await Expect(row.Locator(".in-flight-size")).ToHaveTextAsync("1");
        await Expect(row.Locator(".retrievable-size")).ToHaveTextAsync("0");

        await dashboard.SendFromFormAsync(name, "from the page");
        await Expect(dashboard.Page.Locator("#send-status")).ToContainTextAsync("Sent message");
        await Expect(row.Locator(".queue-size")).ToHaveTextAsync("2");
        await Expect(dashboard.Page.Locator("#updated")).ToContainTextAsync("updated");
    }

    [Theory]
    [InlineData(1280, 800)]
    [InlineData(390, 844)]
    public async Task A_long_queue_name_wraps_so_every_row_keeps_its_counts_in_view(int width, int height)
    {
        var name = NewQueueName("payments-settlement-retry-queue-eu-west");
        await apps.BrokerClient.CreateQueueAsync(name);
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url, width, height);
        await Expect(dashboard.QueueRow(name).Locator(".queue-size")).ToHaveTextAsync("0");

        var tableOverflow = await dashboard.Page.EvaluateAsync<int>(
            "() => { const wrap = document.querySelector('table.queues').closest('.table-wrap'); return wrap.scrollWidth - wrap.clientWidth; }");
        var pageOverflow = await dashboard.Page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth");

        tableOverflow.Should().BeLessThanOrEqualTo(0, "the queue table must not need scrolling sideways to reach its counts");
        pageOverflow.Should().BeLessThanOrEqualTo(0, "nor the page");
    }

    [Theory]
    [InlineData(1280, 800)]
    [InlineData(390, 844)]
    public async Task An_open_queue_whose_long_name_has_no_hyphen_wraps_its_heading_inside_the_panel(int width, int height)
    {
        // The longest name allowed, with nowhere a line could break but anywhere.
        var name = $"settlement_retry_{Guid.NewGuid():N}".PadRight(80, 'x');
        await apps.BrokerClient.CreateQueueAsync(name);
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url, width, height);

        await dashboard.OpenQueueAsync(name);

        await Expect(dashboard.Page.Locator("#messages-hint")).ToHaveTextAsync($"{name} has no messages.");
        // How far the text itself reaches past the panel: a block keeps its box's width while its text overflows.
        const string textOverflow = """
            (selector) => {
              const text = document.createRange();
              text.selectNodeContents(document.querySelector(selector));
              return text.getBoundingClientRect().right - document.querySelector('#messages-panel').getBoundingClientRect().right;
            }
            """;
        var headingOverflow = await dashboard.Page.EvaluateAsync<double>(textOverflow, "#messages-heading");
        var hintOverflow = await dashboard.Page.EvaluateAsync<double>(textOverflow, "#messages-hint");
        var pageOverflow = await dashboard.Page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth");
        headingOverflow.Should().BeLessThanOrEqualTo(0, "the heading naming the open queue must stay inside its panel");
        hintOverflow.Should().BeLessThanOrEqualTo(0, "and so must the line saying it has no messages");
        pageOverflow.Should().BeLessThanOrEqualTo(0, "and the page must not scroll sideways");
    }

    [Fact]
    public async Task Opening_a_queue_far_down_a_long_list_brings_its_messages_into_view()
    {
        var names = Enumerable.Range(1, 60).Select(i => NewQueueName($"many-{i:D2}")).ToList();
        foreach (var name in names)
        {
            await apps.BrokerClient.CreateQueueAsync(name);
        }

        await apps.BrokerClient.SendAsync(QueueRef.ByName(names[^1]), "at the bottom of the list");
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url, 1280, 800);
        var last = dashboard.QueueRow(names[^1]);
        await last.ScrollIntoViewIfNeededAsync();

        await dashboard.OpenQueueAsync(names[^1]);

        await Expect(dashboard.MessageRows.Locator("td.body")).ToHaveTextAsync(["at the bottom of the list"]);
        await Expect(dashboard.Page.Locator("#messages-heading")).ToBeInViewportAsync();
    }

    [Fact]
    public async Task Refreshing_updates_rows_in_place_so_keyboard_focus_survives()
    {
        var name = NewQueueName();
        await apps.BrokerClient.CreateQueueAsync(name);
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);
        var row = dashboard.QueueRow(name);
        await Expect(row.Locator(".queue-size")).ToHaveTextAsync("0");
        await row.Locator(".delete-queue").FocusAsync();

        await apps.BrokerClient.SendAsync(QueueRef.ByName(name), "changes the counts");
        await Expect(row.Locator(".queue-size")).ToHaveTextAsync("1");

        await Expect(row.Locator(".delete-queue")).ToBeFocusedAsync();
    }

    // The broker lists queues by id, so a real list only gains rows at its end and loses them anywhere; a list served
    // in another order checks that rows are placed wherever they belong, each kept rather than drawn again.
    [Fact]
    public async Task A_list_served_in_another_order_is_shown_in_that_order_with_the_rows_that_stay_kept()
    {
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);
        var page = dashboard.Page;
        var served = new[] { "alpha", "bravo", "charlie", "delta" };
        await page.RouteAsync("**/queues", route => route.FulfillAsync(new()
        {
            Status = 200,
            ContentType = "application/json",
            Body = EmptyQueuesJson(Volatile.Read(ref served).Select(name => ((long)(name[0] - 'a' + 1), name))),
        }));
        var names = page.Locator("#queue-rows .queue-name");
        await Expect(names).ToHaveTextAsync(served);
        foreach (var kept in new[] { "alpha", "bravo", "delta" })
        {
            await dashboard.QueueRow(kept).EvaluateAsync("tr => tr.dataset.firstDrawn = 'yes'");
        }

        Volatile.Write(ref served, ["delta", "bravo", "echo", "alpha"]);

        await Expect(names).ToHaveTextAsync(["delta", "bravo", "echo", "alpha"]);
        await Expect(page.Locator("#queue-rows tr[data-first-drawn=yes]")).ToHaveCountAsync(3);
        dashboard.ConsoleErrors.Should().BeEmpty();
    }

    // With 10,000 queues, going over every row of a list answered as it was cost the tab 70-120 ms a second; such a
    // refresh now leaves the page alone, where the open queue's aria-current was set again every second.
    [Fact]
    public async Task A_refresh_that_finds_the_list_as_it_was_changes_nothing_on_the_page()
    {
        var first = await apps.BrokerClient.CreateQueueAsync(NewQueueName("same"));
        var second = await apps.BrokerClient.CreateQueueAsync(NewQueueName("same"));
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);
        var page = dashboard.Page;
        var list = EmptyQueuesJson([(first.Id, first.Name), (second.Id, second.Name)]);
        var answered = 0;
        await page.RouteAsync("**/queues", async route =>
        {
            await route.FulfillAsync(new() { Status = 200, ContentType = "application/json", Body = list });
            Interlocked.Increment(ref answered);
        });
        await Expect(page.Locator("#queue-rows .queue-name")).ToHaveTextAsync([first.Name, second.Name]);
        await dashboard.OpenQueueAsync(first.Name);
        await dashboard.OpenQueueAsync(second.Name);
        await Expect(page.Locator("#messages-hint")).ToHaveTextAsync($"{second.Name} has no messages.");

        await page.EvaluateAsync("""
            () => {
              window.changes = [];
              new MutationObserver((records) => window.changes.push(...records.map((r) => `${r.type} ${r.attributeName || ""}`)))
                .observe(document.getElementById("queue-rows"), { subtree: true, childList: true, attributes: true, characterData: true });
            }
            """);
        // The poll asks again only once an answer is shown: four more answered means three of them were shown.
        var seen = Volatile.Read(ref answered);
        await Eventually.ValueAsync(() => Volatile.Read(ref answered), count => count >= seen + 4, "the page refreshes every second", TimeSpan.FromSeconds(15));
        (await page.EvaluateAsync<string[]>("() => window.changes")).Should().BeEmpty();
        await Expect(dashboard.QueueRow(second.Name)).ToHaveClassAsync("selected");
        await Expect(dashboard.QueueRow(first.Name)).Not.ToHaveClassAsync("selected");
        dashboard.ConsoleErrors.Should().BeEmpty();
    }

    // A list answered as it was is not drawn again, so the open queue's row is unmarked when its messages say it is gone,
    // not by the next refresh: here the list still names it, as one fetched just before a delete would.
    [Fact]
    public async Task A_queue_found_gone_when_its_messages_are_asked_for_is_no_longer_marked_open()
    {
        var queue = await apps.BrokerClient.CreateQueueAsync(NewQueueName("gone"));
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);
        var page = dashboard.Page;
        var list = EmptyQueuesJson([(queue.Id, queue.Name)]);
        await page.RouteAsync("**/queues", route => route.FulfillAsync(new() { Status = 200, ContentType = "application/json", Body = list }));
        await Expect(page.Locator("#queue-rows .queue-name")).ToHaveTextAsync([queue.Name]);
        await dashboard.OpenQueueAsync(queue.Name);
        await Expect(dashboard.QueueRow(queue.Name)).ToHaveClassAsync("selected");

        await apps.BrokerClient.DeleteQueueAsync(QueueRef.ByName(queue.Name));

        await Expect(page.Locator("#messages-hint")).ToHaveTextAsync($"Queue {queue.Name} no longer exists.");
        await Expect(dashboard.QueueRow(queue.Name)).Not.ToHaveClassAsync("selected");
        await Expect(dashboard.QueueRow(queue.Name).Locator(".queue-name")).Not.ToHaveAttributeAsync("aria-current", "true");
        dashboard.ConsoleErrors.Should().OnlyContain(error => error.Contains("404"), "only the messages asked for are gone");
    }

    [Fact]
    public async Task Clicking_a_queue_lists_its_oldest_messages()
    {
        var name = NewQueueName();
        await apps.BrokerClient.CreateQueueAsync(name);
        foreach (var body in new[] { "first", "second", "third" })
        {
            await apps.BrokerClient.SendAsync(QueueRef.ByName(name), body);
        }

        await apps.BrokerClient.ConsumeAsync(QueueRef.ByName(name), size: 1, waitTimeSeconds: 0, visibilityTimeoutSeconds: 300);
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);

        await dashboard.OpenQueueAsync(name);

        await Expect(dashboard.Page.Locator("#messages-heading")).ToHaveTextAsync($"Messages in {name}");
        await Expect(dashboard.MessageRows).ToHaveCountAsync(3);
        await Expect(dashboard.MessageRows.Locator("td.body")).ToHaveTextAsync(["first", "second", "third"]);
        await Expect(dashboard.MessageRows.Nth(0).Locator(".badge")).ToHaveTextAsync("in flight");
        await Expect(dashboard.MessageRows.Nth(1).Locator(".badge")).ToHaveTextAsync("ready");
    }

    [Fact]
    public async Task Size_selector_sets_how_many_messages_are_listed()
    {
        var name = NewQueueName();
        await apps.BrokerClient.CreateQueueAsync(name);
        for (var i = 1; i <= 12; i++)
        {
            await apps.BrokerClient.SendAsync(QueueRef.ByName(name), $"message {i}");
        }

        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);
        await dashboard.OpenQueueAsync(name);
        await Expect(dashboard.MessageRows).ToHaveCountAsync(10);

        await dashboard.Page.Locator("#size").SelectOptionAsync("25");

        await Expect(dashboard.MessageRows).ToHaveCountAsync(12);
    }

    [Fact]
    public async Task A_hostile_body_is_shown_literally_and_runs_nothing()
    {
        var name = NewQueueName("hostile");
        await apps.BrokerClient.CreateQueueAsync(name);
        await apps.BrokerClient.SendAsync(QueueRef.ByName(name), HostileBody);
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);

        await dashboard.OpenQueueAsync(name);

        await Expect(dashboard.MessageRows.Locator("td.body pre")).ToHaveTextAsync(HostileBody);
        await Expect(dashboard.Page.Locator("#message-rows img")).ToHaveCountAsync(0);
        // Give an injected onerror every chance to fire: another full poll cycle re-renders the row.
        await Expect(dashboard.Page.Locator("#updated")).Not.ToHaveTextAsync(await dashboard.Page.Locator("#updated").TextContentAsync() ?? "");
        dashboard.Dialogs.Should().BeEmpty();
        dashboard.ConsoleErrors.Should().BeEmpty("the page breaks no Content-Security-Policy rule and loads nothing that fails");
    }

    [Theory]
    [InlineData(1280, 800)]
    [InlineData(390, 844)]
    public async Task A_body_of_whitespace_alone_says_so_rather_than_look_empty(int width, int height)
    {
        var name = NewQueueName("blank");
        await apps.BrokerClient.CreateQueueAsync(name);
        await apps.BrokerClient.SendAsync(QueueRef.ByName(name), " \n\t");
        await apps.BrokerClient.SendAsync(QueueRef.ByName(name), "words");
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url, width, height);

        await dashboard.OpenQueueAsync(name);

        await Expect(dashboard.MessageRows.Nth(0).Locator(".blank-body")).ToHaveTextAsync("(whitespace only: U+0020 U+000A U+0009)");
        // Seen, at a phone's width too, where the panel's hints are hidden to save room.
        await Expect(dashboard.MessageRows.Nth(0).Locator(".blank-body")).ToBeVisibleAsync();
        (await dashboard.MessageRows.Nth(0).Locator("pre").TextContentAsync()).Should().Be(" \n\t", "the body itself is still shown as it is");
        await Expect(dashboard.MessageRows.Nth(1).Locator(".blank-body")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task Bodies_of_invisible_characters_alone_name_their_code_points_so_each_is_told_from_the_others()
    {
        var name = NewQueueName("invisible");
        await apps.BrokerClient.CreateQueueAsync(name);
        string[] bodies = ["\u200B", "\u00AD", "   ", "\n\n\n", "\u200E\u200F" + new string('\u3164', 2), "a\u200Bb"];
        foreach (var body in bodies)
        {
            await apps.BrokerClient.SendAsync(QueueRef.ByName(name), body);
        }

        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);

        await dashboard.OpenQueueAsync(name);

        await Expect(dashboard.MessageRows).ToHaveCountAsync(bodies.Length);
        var hints = dashboard.MessageRows.Locator(".blank-body");
        await Expect(hints).ToHaveTextAsync(
        [
            "(invisible characters only: U+200B)",
            "(invisible characters only: U+00AD)",
            "(whitespace only: U+0020 ×3)",
            "(whitespace only: U+000A ×3)",
            "(invisible characters only: U+200E U+200F U+3164 ×2)",
        ]);
        // A body with something to see is shown as before, with no note.
        await Expect(dashboard.MessageRows.Nth(5).Locator(".blank-body")).ToHaveCountAsync(0);
        (await dashboard.MessageRows.Nth(0).Locator("pre").TextContentAsync()).Should().Be("\u200B", "the body itself is still shown as it is");
    }

    [Fact]
    public async Task A_long_body_is_shown_cut_short_until_asked_for_in_full()
    {
        var name = NewQueueName("long");
        await apps.BrokerClient.CreateQueueAsync(name);
        // 4,999 characters in 5,000 UTF-16 units: one of them is outside the Basic Multilingual Plane. Markup in it is
        // text in the preview and in full alike.
        var longBody = "🙂" + HostileBody + new string('x', 4_998 - HostileBody.Length);
        await apps.BrokerClient.SendAsync(QueueRef.ByName(name), longBody);
        await apps.BrokerClient.SendAsync(QueueRef.ByName(name), "short");
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);
        await dashboard.OpenQueueAsync(name);
        var first = dashboard.MessageRows.Nth(0);
        var showAll = first.Locator("button.show-all");

        await Expect(showAll).ToHaveTextAsync("Show all 4,999 characters");
        // 2,000 characters, the emoji among them: 2,001 UTF-16 units.
        (await first.Locator("pre").TextContentAsync()).Should().Be(longBody[..2_001] + "…");
        await Expect(dashboard.MessageRows.Nth(1).Locator("button.show-all")).ToHaveCountAsync(0);

        var previewHeight = await first.Locator("pre").EvaluateAsync<int>("pre => pre.clientHeight");
        await showAll.ClickAsync();
        await Expect(first.Locator("pre")).ToHaveTextAsync(longBody);
        await Expect(dashboard.Page.Locator("#message-rows img")).ToHaveCountAsync(0);
        dashboard.Dialogs.Should().BeEmpty();
        await Expect(showAll).ToHaveTextAsync("Show less");
        await Expect(showAll).ToBeFocusedAsync();
        (await first.Locator("pre").EvaluateAsync<int>("pre => pre.clientHeight")).Should().BeGreaterThan(previewHeight, "the whole body gets more room");

        await showAll.ClickAsync();
        await Expect(showAll).ToHaveTextAsync("Show all 4,999 characters");
        (await first.Locator("pre").TextContentAsync()).Should().Be(longBody[..2_001] + "…");
    }

    [Fact]
    public async Task A_long_body_s_show_all_button_wraps_inside_its_card_at_320_pixels_wide()
    {
        var name = NewQueueName("reflow");
        await apps.BrokerClient.CreateQueueAsync(name);
        await apps.BrokerClient.SendAsync(QueueRef.ByName(name), new string('x', 262_144));
        // 1,280 pixels zoomed to 400%: the width at which a page must still read without scrolling sideways.
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url, 320, 256);
        await dashboard.OpenQueueAsync(name);
        var showAll = dashboard.MessageRows.Nth(0).Locator("button.show-all");
        await Expect(showAll).ToHaveTextAsync("Show all 262,144 characters");

        var overflow = await showAll.EvaluateAsync<double>("b => b.getBoundingClientRect().right - b.closest('tr').getBoundingClientRect().right");
        overflow.Should().BeLessThanOrEqualTo(0, "the button is within its message's card, not cut off at its edge");
        (await dashboard.Page.Locator("#messages").EvaluateAsync<int>("t => t.parentElement.scrollWidth - t.parentElement.clientWidth"))
            .Should().BeLessThanOrEqualTo(0, "the cards do not scroll sideways");
    }

    [Fact]
    public async Task An_open_queue_is_fetched_again_only_when_its_messages_change()
    {
        var name = NewQueueName("watched");
        await apps.BrokerClient.CreateQueueAsync(name);
        await apps.BrokerClient.SendAsync(QueueRef.ByName(name), "watched");
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);
        var answers = new System.Collections.Concurrent.ConcurrentQueue<int>();
        dashboard.Page.Response += (_, response) =>
        {
            if (response.Url.Contains($"/queues/{name}?", StringComparison.Ordinal))
            {
                answers.Enqueue(response.Status);
            }
        };
        await dashboard.OpenQueueAsync(name);
        var badge = dashboard.MessageRows.Nth(0).Locator(".badge");
        await Expect(badge).ToHaveTextAsync("ready");
        await Eventually.TrueAsync(() => answers.TakeLast(2).Count(status => status == 304) == 2, "polls of a queue that did not change are answered 304");

        var beforeClaim = answers.Count;
        // Long enough that a poll delayed on a loaded machine still finds the reservation running.
        await apps.BrokerClient.ConsumeAsync(QueueRef.ByName(name), size: 1, waitTimeSeconds: 0, visibilityTimeoutSeconds: 4);
        await Expect(badge).ToHaveTextAsync("in flight");
        var afterClaim = answers.Count;

        // The reservation running out changes nothing the broker stores, so nothing is fetched: the page's clock turns it.
        await Expect(badge).ToHaveTextAsync("ready", new() { Timeout = 10_000 });
        answers.Skip(beforeClaim).Take(afterClaim - beforeClaim).Should().Contain(200, "the claim changed the message");
        answers.Skip(afterClaim).Should().OnlyContain(status => status == 304);
    }

    [Fact]
    public async Task A_message_sent_from_the_page_and_then_deleted_by_a_consumer_is_no_longer_said_to_be_sent_as_if_still_there()
    {
        var (name, dashboard) = await WithNewQueueAsync("sent-gone");
        await using var _ = dashboard;
        var page = dashboard.Page;
        var status = page.Locator("#send-status");
        var row = dashboard.QueueRow(name);
        await apps.BrokerClient.SendAsync(QueueRef.ByName(name), "older, and left alone");
        await dashboard.OpenQueueAsync(name);
        await dashboard.SendFromFormAsync(name, "from the page");
        await Expect(status).ToHaveTextAsync(new Regex(@"^Sent message \d+ to " + name + @"\.$"));
        var sentLine = await status.TextContentAsync();

        // Claimed but not deleted: the message is still there, and the line stays.
        var claimed = await apps.BrokerClient.ConsumeAsync(QueueRef.ByName(name), size: 2, waitTimeSeconds: 0, visibilityTimeoutSeconds: 300);
        await Expect(row.Locator(".in-flight-size")).ToHaveTextAsync("2");
        await Expect(dashboard.MessageRows.Locator(".badge.in-flight")).ToHaveCountAsync(2);
        await Expect(status).ToHaveTextAsync(sentLine!);

        var mine = claimed.Single(m => m.Body == "from the page");
        (await apps.BrokerClient.DeleteMessageAsync(mine.Id, mine.ReservationToken)).Should().BeTrue();

        await Expect(status).ToHaveTextAsync($"Sent message {mine.Id} to {name}. It has since been deleted.");
        await Expect(status).Not.ToHaveClassAsync(new Regex(@"\bok\b"));
        await Expect(row.Locator(".queue-size")).ToHaveTextAsync("1");
    }

    [Fact]
    public async Task A_message_sent_from_the_page_whose_queue_is_then_deleted_is_said_to_be_gone_with_it()
    {
        var (name, dashboard) = await WithNewQueueAsync("sent-queue-gone");
        await using var _ = dashboard;
        var page = dashboard.Page;
        await dashboard.SendFromFormAsync(name, "from the page");
        await Expect(page.Locator("#send-status")).ToContainTextAsync("Sent message");
        var sent = (await apps.BrokerClient.PeekAsync(QueueRef.ByName(name))).Single();

        await dashboard.QueueRow(name).Locator(".delete-queue").ClickAsync();
        await page.Locator("#confirm-button").ClickAsync();

        await Expect(page.Locator("#send-status")).ToHaveTextAsync($"Sent message {sent.Id} to {name}. The queue has since been deleted.");
    }

    // At a phone's width the message table is laid out as cards (display: block), which a bare [hidden] lost to, so a
    // deleted queue's messages stayed on screen under the note that it was gone.
    [Theory]
    [InlineData(1280, 860, true)]
    [InlineData(1280, 860, false)]
    [InlineData(390, 844, true)]
    [InlineData(390, 844, false)]
    public async Task An_open_queue_s_messages_leave_the_screen_when_it_is_deleted(int width, int height, bool fromThePage)
    {
        var name = NewQueueName("open-gone");
        await apps.BrokerClient.CreateQueueAsync(name);
        await apps.BrokerClient.SendAsync(QueueRef.ByName(name), "about to go");
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url, width, height);
        var page = dashboard.Page;
        await dashboard.OpenQueueAsync(name);
        await Expect(dashboard.MessageRows.Locator("td.body")).ToHaveTextAsync(["about to go"]);

        if (fromThePage)
        {
            await dashboard.QueueRow(name).Locator(".delete-queue").ClickAsync();
            await page.Locator("#confirm-button").ClickAsync();
            await Expect(page.Locator("#messages-hint")).ToHaveTextAsync($"Deleted {name}. Click a queue to see its oldest messages.");
        }
        else
        {
            await apps.BrokerClient.DeleteQueueAsync(QueueRef.ByName(name));
            await Expect(page.Locator("#messages-hint")).ToHaveTextAsync($"Queue {name} no longer exists.");
        }

        await Expect(dashboard.MessageRows).ToHaveCountAsync(0);
        (await page.EvaluateAsync<string>("() => getComputedStyle(document.getElementById('messages')).display")).Should().Be("none");
    }

    [Fact]
    public async Task A_slow_poll_of_a_queue_named_null_answered_after_it_was_deleted_from_the_page_does_not_put_its_messages_back()
    {
        // With no queue open the page's path for the messages reads /queues/null, as this queue's does.
        const string Name = "null";
        await apps.BrokerClient.CreateQueueAsync(Name);
        await apps.BrokerClient.SendAsync(QueueRef.ByName(Name), "deleted with its queue");
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);
        var page = dashboard.Page;
        await dashboard.OpenQueueAsync(Name);
        await Expect(dashboard.MessageRows.Locator("td.body")).ToHaveTextAsync(["deleted with its queue"]);
        var release = await dashboard.HoldNextAnswerAsync($"**/queues/{Name}?*");

        await dashboard.QueueRow(Name).Locator(".delete-queue").ClickAsync();
        await page.Locator("#confirm-button").ClickAsync();
        await Expect(page.Locator("#messages-hint")).ToHaveTextAsync($"Deleted {Name}. Click a queue to see its oldest messages.");
        var updated = await page.Locator("#updated").TextContentAsync() ?? "";
        var pollAnswered = page.WaitForResponseAsync(response => response.Url.Contains($"/queues/{Name}?", StringComparison.Ordinal));
        release();
        await pollAnswered;
        await Expect(page.Locator("#updated")).Not.ToHaveTextAsync(updated);

        await Expect(dashboard.MessageRows).ToHaveCountAsync(0);
        await Expect(page.Locator("#messages-hint")).ToHaveTextAsync($"Deleted {Name}. Click a queue to see its oldest messages.");
    }

    [Fact]
    public async Task A_queue_can_be_created_and_deleted_from_the_page_with_a_confirmation()
    {
        var name = NewQueueName("made-here");
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);
        var page = dashboard.Page;

        await page.Locator("#new-queue-name").FillAsync(name);
        await page.Locator("#create-queue button[type=submit]").ClickAsync();
        await Expect(dashboard.QueueRow(name)).ToHaveCountAsync(1);
        await Expect(page.Locator("#create-status")).ToContainTextAsync($"Created {name}");

        await dashboard.QueueRow(name).Locator(".delete-queue").ClickAsync();
        await Expect(page.Locator("#confirm-delete")).ToBeVisibleAsync();
        await Expect(page.Locator("#confirm-name")).ToHaveTextAsync(name);
        await Expect(page.Locator("#confirm-what")).ToHaveTextAsync("It has no messages. This cannot be undone.");
        await page.Locator("#confirm-delete button[value=cancel]").ClickAsync();
        await Expect(page.Locator("#confirm-delete")).ToBeHiddenAsync();
        (await apps.BrokerClient.FindQueueAsync(QueueRef.ByName(name))).Should().NotBeNull("cancel keeps the queue");

        await dashboard.QueueRow(name).Locator(".delete-queue").ClickAsync();
        await page.Locator("#confirm-button").ClickAsync();

        await Expect(dashboard.QueueRow(name)).ToHaveCountAsync(0);
        (await apps.BrokerClient.FindQueueAsync(QueueRef.ByName(name))).Should().BeNull();
    }

    [Fact]
    public async Task A_queue_deleted_with_the_keyboard_leaves_the_focus_on_the_next_queue()
    {
        var deleted = NewQueueName("kbd-gone");
        var next = NewQueueName("kbd-next");
        await apps.BrokerClient.CreateQueueAsync(deleted);
        await apps.BrokerClient.CreateQueueAsync(next);
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);
        var page = dashboard.Page;
        await Expect(dashboard.QueueRow(next)).ToHaveCountAsync(1);

        await dashboard.QueueRow(deleted).Locator(".delete-queue").FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.Locator("#confirm-delete button[value=cancel]")).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("Tab");
        await Expect(page.Locator("#confirm-button")).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("Enter");

        await Expect(dashboard.QueueRow(deleted)).ToHaveCountAsync(0);
        // Not dropped to the top of the page with the row it was in: the next Tab goes on from the list.
        await Expect(dashboard.QueueRow(next).Locator(".queue-name")).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("Tab");
        await Expect(dashboard.QueueRow(next).Locator(".delete-queue")).ToBeFocusedAsync();
    }

    [Fact]
    public async Task Deleting_a_queue_whose_messages_are_in_flight_says_so_before_it_is_confirmed()
    {
        var (name, dashboard) = await WithNewQueueAsync("busy");
        await using var _ = dashboard;
        var page = dashboard.Page;
        foreach (var body in new[] { "one", "two", "three" })
        {
            await apps.BrokerClient.SendAsync(QueueRef.ByName(name), body);
        }

        await apps.BrokerClient.ConsumeAsync(QueueRef.ByName(name), size: 2, waitTimeSeconds: 0, visibilityTimeoutSeconds: 600);
        await Expect(dashboard.QueueRow(name).Locator(".in-flight-size")).ToHaveTextAsync("2");

        await dashboard.QueueRow(name).Locator(".delete-queue").ClickAsync();

        const string What = "It and all 3 of its messages are deleted. 2 are in flight: consumers are working on them now. This cannot be undone.";
        await Expect(page.Locator("#confirm-what")).ToHaveTextAsync(What);
        // Read out with the question, as the focus goes to the dialog's Cancel button and not to this text.
        await Expect(page.Locator("#confirm-delete")).ToHaveAccessibleDescriptionAsync(What);
        await page.Locator("#confirm-delete button[value=cancel]").ClickAsync();
        (await apps.BrokerClient.FindQueueAsync(QueueRef.ByName(name))).Should().NotBeNull("cancel keeps the queue");
    }

    [Fact]
    public async Task The_delete_dialog_counts_the_messages_sent_while_it_is_open()
    {
        var (name, dashboard) = await WithNewQueueAsync("filling");
        await using var _ = dashboard;
        var page = dashboard.Page;
        var what = page.Locator("#confirm-what");
        await dashboard.QueueRow(name).Locator(".delete-queue").ClickAsync();
        await Expect(what).ToHaveTextAsync("It has no messages. This cannot be undone.");

        foreach (var body in new[] { "one", "two", "three" })
        {
            await apps.BrokerClient.SendAsync(QueueRef.ByName(name), body);
        }

        await apps.BrokerClient.ConsumeAsync(QueueRef.ByName(name), size: 1, waitTimeSeconds: 0, visibilityTimeoutSeconds: 600);

        const string Now = "It and all 3 of its messages are deleted. One is in flight: a consumer is working on it now. This cannot be undone.";
        await Expect(what).ToHaveTextAsync(Now);
        await Expect(page.Locator("#confirm-delete")).ToHaveAccessibleDescriptionAsync(Now);
        await page.Locator("#confirm-delete button[value=cancel]").ClickAsync();
        (await apps.BrokerClient.FindQueueAsync(QueueRef.ByName(name))).Should().NotBeNull("cancel keeps the queue");
    }

    [Fact]
    public async Task The_delete_dialog_of_a_queue_deleted_elsewhere_while_it_is_open_says_it_is_already_gone()
    {
        var gone = NewQueueName("gone-while-open");
        var next = NewQueueName("stays");
        await apps.BrokerClient.CreateQueueAsync(gone);
        await apps.BrokerClient.SendAsync(QueueRef.ByName(gone), "deleted elsewhere");
        await apps.BrokerClient.CreateQueueAsync(next);
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);
        var page = dashboard.Page;
        var dialog = page.Locator("#confirm-delete");
        await Expect(dashboard.QueueRow(next)).ToHaveCountAsync(1);
        await dashboard.QueueRow(gone).Locator(".delete-queue").ClickAsync();
        await Expect(page.Locator("#confirm-what")).ToHaveTextAsync("It and its one message are deleted. This cannot be undone.");
        await page.Locator("#confirm-button").FocusAsync();

        // Deleted by another tab or a curl: the dialog said its message would be deleted, and offered to delete it.
        (await apps.BrokerClient.DeleteQueueAsync(QueueRef.ByName(gone))).Should().BeTrue();

        await AssertSaysGoneAsync(page, gone);
        await page.Keyboard.PressAsync("Escape");
        await Expect(dialog).ToBeHiddenAsync();
        await Expect(dashboard.QueueRow(next).Locator(".queue-name")).ToBeFocusedAsync();
        dashboard.ConsoleErrors.Should().BeEmpty();
    }

    [Fact]
    public async Task The_delete_dialog_of_a_queue_found_gone_when_its_delete_is_confirmed_says_it_is_already_gone()
    {
        var gone = NewQueueName("gone-on-confirm");
        var next = NewQueueName("stays");
        // Deleted elsewhere just before the page's own delete reaches the DevTool, so that the page learns of it from the 404.
        await using var dashboard = await OpenDeletingMeanwhileAsync(gone, next, () => apps.BrokerClient.DeleteQueueAsync(QueueRef.ByName(gone)));
        var page = dashboard.Page;
        await dashboard.QueueRow(gone).Locator(".delete-queue").FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await page.Keyboard.PressAsync("Tab");
        await Expect(page.Locator("#confirm-button")).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("Enter");

        await AssertSaysGoneAsync(page, gone);
        // Not an error of the page's: what was asked for is done.
        await Expect(page.Locator("#create-status")).ToBeEmptyAsync();
        await Expect(dashboard.QueueRow(gone)).ToHaveCountAsync(0);
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.Locator("#confirm-delete")).ToBeHiddenAsync();
        await Expect(dashboard.QueueRow(next).Locator(".queue-name")).ToBeFocusedAsync();
    }

    /// <summary>
    /// The dialog deletes the queue it asked about: one deleted and created again under its name before the page heard of
    /// either (between two refreshes) is another queue, with messages of its own, which a delete by name took.
    /// </summary>
    [Fact]
    public async Task The_delete_dialog_leaves_a_queue_created_again_under_its_queue_s_name_alone()
    {
        var name = NewQueueName("made-again");
        await using var dashboard = await OpenDeletingMeanwhileAsync(name, NewQueueName("stays"), async () =>
        {
            await apps.BrokerClient.DeleteQueueAsync(QueueRef.ByName(name));
            await apps.BrokerClient.CreateQueueAsync(name);
            await apps.BrokerClient.SendAsync(QueueRef.ByName(name), "the new queue's own");
        });
        var page = dashboard.Page;
        await dashboard.QueueRow(name).Locator(".delete-queue").ClickAsync();

        await page.Locator("#confirm-button").ClickAsync();

        await AssertSaysGoneAsync(page, name);
        (await apps.BrokerClient.PeekAsync(QueueRef.ByName(name))).Should().ContainSingle().Which.Body.Should().Be("the new queue's own");
    }

    [Fact]
    public async Task The_delete_dialog_of_a_queue_whose_id_the_list_now_gives_another_queue_says_it_is_already_gone()
    {
        // A broker started again on another database gives its ids out again; here the list is rewritten to say so.
        var (name, dashboard) = await WithNewQueueAsync("id-given-again");
        await using var _ = dashboard;
        var page = dashboard.Page;
        await dashboard.QueueRow(name).Locator(".delete-queue").ClickAsync();
        await Expect(page.Locator("#confirm-what")).ToHaveTextAsync("It has no messages. This cannot be undone.");

        var other = NewQueueName("took-its-id");
        await page.RouteAsync("**/queues", async route =>
        {
            var response = await route.FetchAsync();
            await route.FulfillAsync(new() { Response = response, Body = (await response.TextAsync()).Replace($"\"{name}\"", $"\"{other}\"", StringComparison.Ordinal) });
        });

        await AssertSaysGoneAsync(page, name);
    }

    [Fact]
    public async Task The_delete_dialog_closed_while_its_delete_is_answered_is_free_at_once_for_another_queue()
    {
        var (name, dashboard) = await WithNewQueueAsync("closed-while-deleting");
        await using var _ = dashboard;
        var next = NewQueueName("deleted-next");
        await apps.BrokerClient.CreateQueueAsync(next);
        var page = dashboard.Page;
        await Expect(dashboard.QueueRow(next)).ToHaveCountAsync(1);
        // A slow broker: the first delete is held on its way until the second dialog has been looked at.
        var first = $"/queues/{(await apps.BrokerClient.FindQueueAsync(QueueRef.ByName(name)))!.Id}";
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await page.RouteAsync("**/queues/*", async route =>
        {
            if (route.Request.Method == "DELETE" && route.Request.Url.EndsWith(first, StringComparison.Ordinal))
            {
                await release.Task;
            }

            await route.ContinueAsync();
        });

        await dashboard.QueueRow(name).Locator(".delete-queue").ClickAsync();
        var delete = page.Locator("#confirm-button");
        await delete.ClickAsync();
        await Expect(delete).ToHaveTextAsync("Deleting…");
        await page.Keyboard.PressAsync("Escape");
        await Expect(page.Locator("#confirm-delete")).ToBeHiddenAsync();
        await dashboard.QueueRow(next).Locator(".delete-queue").ClickAsync();

        await Expect(page.Locator("#confirm-name")).ToHaveTextAsync(next);
        await Expect(delete).ToHaveTextAsync("Delete queue");
        await Expect(delete).Not.ToHaveAttributeAsync("aria-disabled", "true");
        await delete.ClickAsync();
        await Expect(page.Locator("#confirm-delete")).ToBeHiddenAsync();
        release.SetResult();
        await Expect(dashboard.QueueRow(next)).ToHaveCountAsync(0);
        await Expect(dashboard.QueueRow(name)).ToHaveCountAsync(0);
        (await apps.BrokerClient.ListQueuesAsync()).Select(q => q.Name).Should().NotContain([name, next]);
    }

    /// <summary>
    /// The dashboard on queues <paramref name="name"/> and <paramref name="next"/>, where <paramref name="meanwhile"/>
    /// runs as the page's delete of a queue reaches the DevTool, before the DevTool answers it.
    /// </summary>
    private async Task<DashboardPage> OpenDeletingMeanwhileAsync(string name, string next, Func<Task> meanwhile)
    {
        await apps.BrokerClient.CreateQueueAsync(name);
        await apps.BrokerClient.CreateQueueAsync(next);
        var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);
        await Expect(dashboard.QueueRow(next)).ToHaveCountAsync(1);
        await dashboard.Page.RouteAsync("**/queues/*", async route =>
        {
            if (route.Request.Method == "DELETE")
            {
                await meanwhile();
            }

            await route.ContinueAsync();
        });
        return dashboard;
    }

    /// <summary>The open delete dialog says its queue is gone, offers only to close, and has the focus on that.</summary>
    private static async Task AssertSaysGoneAsync(IPage page, string name)
    {
        const string What = "It was deleted elsewhere, with its messages: there is nothing left to delete.";
        var dialog = page.Locator("#confirm-delete");
        await Expect(page.Locator("#confirm-what")).ToHaveTextAsync(What);
        await Expect(dialog).ToHaveAccessibleNameAsync($"Queue {name} is already gone");
        await Expect(dialog).ToHaveAccessibleDescriptionAsync(What);
        await Expect(dialog.GetByRole(AriaRole.Status)).ToHaveTextAsync($"Queue {name} is already gone: there is nothing left to delete.");
        await Expect(page.Locator("#confirm-button")).ToBeHiddenAsync();
        // The Delete button had the focus: hidden, it would have dropped it on the page's body behind the dialog.
        await Expect(page.Locator("#confirm-cancel")).ToHaveTextAsync("Close");
        await Expect(page.Locator("#confirm-cancel")).ToBeFocusedAsync();
    }

    [Fact]
    public async Task A_second_click_on_send_while_the_first_is_answered_sends_nothing_more()
    {
        var (name, dashboard) = await WithNewQueueAsync("once");
        await using var _ = dashboard;
        var page = dashboard.Page;
        // A slow broker: each send is held on its way until the clicks are done, however long they take.
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sends = 0;
        await page.RouteAsync("**/messages", async route =>
        {
            Interlocked.Increment(ref sends);
            await release.Task;
            await route.ContinueAsync();
        });

        await page.Locator("#send-queue").SelectOptionAsync(name);
        await page.Locator("#send-body").FillAsync("sent once");
        var send = page.Locator("#send-message button[type=submit]");
        await send.ClickAsync();
        await send.ClickAsync(new() { Force = true });
        await page.Locator("#send-body").PressAsync("Enter");
        release.SetResult();

        await Expect(page.Locator("#send-status")).ToContainTextAsync("Sent message");
        Volatile.Read(ref sends).Should().Be(1);
        await Expect(send).ToBeEnabledAsync();
        (await apps.BrokerClient.ListQueuesAsync()).Single(q => q.Name == name).QueueSize.Should().Be(1);
    }

    [Fact]
    public async Task When_the_queue_chosen_to_send_to_is_deleted_the_form_asks_again_rather_than_send_elsewhere()
    {
        var kept = NewQueueName("a-kept");
        var gone = NewQueueName("b-gone");
        await apps.BrokerClient.CreateQueueAsync(kept);
        await apps.BrokerClient.CreateQueueAsync(gone);
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);
        var page = dashboard.Page;
        await Expect(dashboard.QueueRow(gone)).ToHaveCountAsync(1);
        await page.Locator("#send-queue").SelectOptionAsync(gone);

        await apps.BrokerClient.DeleteQueueAsync(QueueRef.ByName(gone));
        await Expect(dashboard.QueueRow(gone)).ToHaveCountAsync(0);
        await page.Locator("#send-body").FillAsync("meant for the deleted queue");
        await page.Locator("#send-message button[type=submit]").ClickAsync();

        await Expect(page.Locator("#send-queue")).ToHaveValueAsync("");
        await Expect(page.Locator("#send-status")).ToContainTextAsync("Choose a queue.");

        // The list changing again (a queue made elsewhere) must not choose for the user either.
        var other = NewQueueName("c-other");
        await apps.BrokerClient.CreateQueueAsync(other);
        await Expect(dashboard.QueueRow(other)).ToHaveCountAsync(1);
        await Expect(page.Locator("#send-queue")).ToHaveValueAsync("");
        await page.Locator("#send-message button[type=submit]").ClickAsync();
        await Expect(page.Locator("#send-status")).ToContainTextAsync("Choose a queue.");
        (await apps.BrokerClient.ListQueuesAsync()).Where(q => q.Name == kept || q.Name == other).Should().OnlyContain(q => q.QueueSize == 0);
    }

    [Fact]
    public async Task When_only_the_open_queue_fails_the_banner_stays_up_rather_than_blinking_each_refresh()
    {
        var (name, dashboard) = await WithNewQueueAsync("failing");
        await using var _ = dashboard;
        var page = dashboard.Page;
        // The queue list answers; the open queue's messages get the DevTool's 503 for a broker that does not answer.
        var polls = 0;
        await page.RouteAsync($"**/queues/{name}?*", route =>
        {
            Interlocked.Increment(ref polls);
            return route.FulfillAsync(new()
            {
                Status = 503,
                ContentType = "application/problem+json",
                Body = """{"status":503,"title":"The broker is unreachable.","detail":"It did not answer in time."}""",
            });
        });

        await dashboard.OpenQueueAsync(name);
        await Expect(dashboard.Banner).ToBeVisibleAsync();
        await page.EvaluateAsync("""
            () => {
              window.bannerChanges = 0;
              new MutationObserver(() => window.bannerChanges++).observe(
                document.getElementById("banner"), { attributes: true, attributeFilter: ["hidden"] });
            }
            """);
        // One refresh at a time: the fourth request for the messages goes out only once the three before it, and the
        // queue lists between them, were answered and shown.
        var seen = Volatile.Read(ref polls);
        await Eventually.ValueAsync(() => Volatile.Read(ref polls), count => count >= seen + 4, "three more refreshes went by");

        (await page.EvaluateAsync<int>("() => window.bannerChanges")).Should().Be(0);
        await Expect(dashboard.Banner).ToBeVisibleAsync();
    }

    [Fact]
    public async Task A_devtool_that_stops_answering_is_said_so_once_the_page_has_waited_its_request_timeout()
    {
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);
        await Expect(dashboard.Page.Locator("#updated")).ToContainTextAsync("updated");
        // From now on the queue list is never answered, as by a DevTool that hangs; the page waits 4 s for an answer
        // (LiveApps's Broker:TotalTimeout and 2 s).
        var hanging = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await dashboard.Page.RouteAsync("**/queues", _ => hanging.Task);

        try
        {
            // The page gives up only after its 4 s, so the default 10 s leaves a loaded machine too little room.
            await Expect(dashboard.Banner).ToContainTextAsync("The DevTool is not answering.", new() { Timeout = 20_000 });
            await Expect(dashboard.Page.Locator("#freshness")).ToHaveClassAsync(new Regex("stale"));
        }
        finally
        {
            hanging.SetResult();
        }
    }

    [Fact]
    public async Task A_slow_poll_answered_after_a_send_does_not_put_back_the_counts_from_before_it()
    {
        var (name, dashboard) = await WithNewQueueAsync("overtaken");
        await using var _ = dashboard;
        var page = dashboard.Page;
        var size = dashboard.QueueRow(name).Locator(".queue-size");
        await Expect(size).ToHaveTextAsync("0");
        var release = await dashboard.HoldNextAnswerAsync("**/queues");

        await dashboard.SendFromFormAsync(name, "counted");
        await Expect(size).ToHaveTextAsync("1");
        await page.EvaluateAsync("""
            cell => {
              window.sizesShown = [];
              new MutationObserver(() => window.sizesShown.push(cell.textContent))
                .observe(cell, { childList: true, characterData: true, subtree: true });
            }
            """, await size.ElementHandleAsync());
        var pollAnswered = page.WaitForResponseAsync(response => response.Url.EndsWith("/queues", StringComparison.Ordinal));
        release();
        await pollAnswered;
        await Expect(page.Locator("#updated")).Not.ToHaveTextAsync(await page.Locator("#updated").TextContentAsync() ?? "");

        (await page.EvaluateAsync<string[]>("() => window.sizesShown")).Should().BeEmpty("the held answer is older than the one shown");
        await Expect(size).ToHaveTextAsync("1");
    }

    [Fact]
    public async Task A_slow_poll_answered_after_a_send_does_not_take_the_new_message_off_the_list()
    {
        var (name, dashboard) = await WithNewQueueAsync("overtaken-list");
        await using var _ = dashboard;
        var page = dashboard.Page;
        await dashboard.OpenQueueAsync(name);
        await Expect(page.Locator("#messages-hint")).ToHaveTextAsync($"{name} has no messages.");
        var release = await dashboard.HoldNextAnswerAsync($"**/queues/{name}?*");

        await dashboard.SendFromFormAsync(name, "listed");
        await Expect(dashboard.MessageRows.Locator("td.body")).ToHaveTextAsync(["listed"]);
        await page.EvaluateAsync("""
            rows => {
              window.rowChanges = 0;
              new MutationObserver(() => window.rowChanges++).observe(rows, { childList: true });
            }
            """, await page.Locator("#message-rows").ElementHandleAsync());
        var pollAnswered = page.WaitForResponseAsync(response => response.Url.Contains($"/queues/{name}?", StringComparison.Ordinal));
        release();
        await pollAnswered;
        await Expect(page.Locator("#updated")).Not.ToHaveTextAsync(await page.Locator("#updated").TextContentAsync() ?? "");

        (await page.EvaluateAsync<int>("() => window.rowChanges")).Should().Be(0, "the held answer is older than the list shown");
        await Expect(dashboard.MessageRows).ToHaveCountAsync(1);
    }

    [Fact]
    public async Task Opening_another_queue_shows_nothing_of_the_last_one_while_its_messages_load()
    {
        var (empty, dashboard) = await WithNewQueueAsync("a-empty");
        await using var _ = dashboard;
        var full = NewQueueName("b-full");
        await apps.BrokerClient.CreateQueueAsync(full);
        await apps.BrokerClient.SendAsync(QueueRef.ByName(full), "waiting");
        var page = dashboard.Page;
        await dashboard.OpenQueueAsync(empty);
        await Expect(page.Locator("#messages-hint")).ToHaveTextAsync($"{empty} has no messages.");
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await page.RouteAsync($"**/queues/{full}?*", async route =>
        {
            await release.Task;
            await route.ContinueAsync();
        });

        await Expect(dashboard.QueueRow(full)).ToHaveCountAsync(1);
        await dashboard.OpenQueueAsync(full);

        await Expect(page.Locator("#messages-heading")).ToHaveTextAsync($"Messages in {full}");
        await Expect(page.Locator("#messages-hint")).ToHaveTextAsync($"Loading the messages of {full}…");
        release.SetResult();
        await Expect(dashboard.MessageRows.Locator("td.body")).ToHaveTextAsync(["waiting"]);
        await Expect(page.Locator("#messages-hint")).ToBeHiddenAsync();
    }

    [Fact]
    public async Task A_list_the_devtool_refuses_says_why_instead_of_leaving_the_last_one_shown()
    {
        var (name, dashboard) = await WithNewQueueAsync("refused-size");
        await using var _ = dashboard;
        var page = dashboard.Page;
        await apps.BrokerClient.SendAsync(QueueRef.ByName(name), "listed");
        await dashboard.OpenQueueAsync(name);
        await Expect(dashboard.MessageRows.Locator("td.body")).ToHaveTextAsync(["listed"]);
        // As a broker whose Limits:MaxBatchSize is below the DevTool's refuses the larger sizes the page offers.
        const string Refusal = "'size' must be a whole number from 1 to 20.";
        await page.RouteAsync(url => url.Contains($"/queues/{name}?size=25", StringComparison.Ordinal), route => route.FulfillAsync(new()
        {
            Status = 400,
            ContentType = "application/problem+json",
            Body = $$$"""{"status":400,"title":"The request is not valid.","detail":"{{{Refusal}}}","errors":{"size":["{{{Refusal}}}"]}}""",
        }));

        await page.Locator("#size").SelectOptionAsync("25");

        await Expect(page.Locator("#messages-hint")).ToHaveTextAsync($"Could not list the messages of {name}: {Refusal}");
        await Expect(page.Locator("#messages")).ToBeHiddenAsync();
        await page.Locator("#size").SelectOptionAsync("10");
        await Expect(page.Locator("#messages")).ToBeVisibleAsync();
        await Expect(dashboard.MessageRows.Locator("td.body")).ToHaveTextAsync(["listed"]);
    }

    [Fact]
    public async Task The_open_queue_is_marked_for_assistive_technology_too()
    {
        var name = NewQueueName("open");
        await apps.BrokerClient.CreateQueueAsync(name);
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);

        await dashboard.OpenQueueAsync(name);

        await Expect(dashboard.QueueRow(name).Locator(".queue-name")).ToHaveAttributeAsync("aria-current", "true");
        await Expect(dashboard.Page.Locator("#queue-rows .queue-name[aria-current]")).ToHaveCountAsync(1);
    }

    [Fact]
    public async Task Each_table_is_named_for_assistive_technology_by_the_heading_above_it()
    {
        var (name, dashboard) = await WithNewQueueAsync("named");
        await using var _ = dashboard;
        await apps.BrokerClient.SendAsync(QueueRef.ByName(name), "listed");
        var page = dashboard.Page;

        await dashboard.OpenQueueAsync(name);

        // The name a screen reader announces on entering the table, computed as the browser computes it.
        await Expect(page.GetByRole(AriaRole.Table, new() { Name = "Queues", Exact = true })).ToHaveIdAsync("queues");
        await Expect(page.GetByRole(AriaRole.Table, new() { Name = $"Messages in {name}", Exact = true })).ToHaveIdAsync("messages");
    }

    [Fact]
    public async Task Creating_an_invalid_queue_name_shows_why()
    {
        await using var dashboard = await DashboardPage.OpenAsync(chromium.Browser, apps.Url);

        await dashboard.Page.Locator("#new-queue-name").FillAsync("no spaces allowed");
        await dashboard.Page.Locator("#create-queue button[type=submit]").ClickAsync();

        await Expect(dashboard.Page.Locator("#create-status")).ToContainTextAsync("may contain only");
    }
}
