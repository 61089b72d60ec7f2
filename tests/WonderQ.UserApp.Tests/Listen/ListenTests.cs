using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using WonderQ.Shared.Contracts;
using WonderQ.Shared.Json;
using WonderQ.UserApp.Listen;
using WonderQ.UserApp.Tests.Infrastructure;

namespace WonderQ.UserApp.Tests.Listen;

public partial class ListenTests : UserAppTestBase
{
    [Fact]
    public async Task Listen_drains_a_queue_of_1000_messages_logging_each_body_exactly_once()
    {
        var dispatched = await DispatchAsync(new { queue_name = "bulk", stub = 1000 });
        dispatched.Failed.Should().BeEmpty();

        using var response = await Http.GetAsync("/listen?queue_name=bulk&size=100&wait_time=1");

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        await Eventually.ValueAsync(() => App.ProcessedBodies.Count, count => count >= 1000, "1000 messages are processed");
        await Eventually.ValueAsync(() => QueueSizeAsync("bulk"), size => size == 0, "every processed message is deleted");
        var numbers = App.ProcessedBodies.Select(b => int.Parse(StubNumber().Match(b).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        numbers.Should().BeEquivalentTo(Enumerable.Range(1, 1000), "each body is logged exactly once");
        (await ListenersAsync()).Should().ContainSingle().Which.Processed.Should().Be(1000);
    }

    [Fact]
    public async Task Listen_answers_202_with_the_queue_at_once()
    {
        var queue = (await DispatchAsync(new { queue_name = "orders", body = "hi" })).Queue;

        using var response = await Http.GetAsync("/listen?queue_name=orders&wait_time=1");

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        var view = (await response.Content.ReadFromJsonAsync<ListenerView>(WonderQJson.Options))!;
        view.Listening.Should().BeTrue();
        view.Queue.Should().Be(new QueueSummary(queue.Id, "orders"));
        await Eventually.TrueAsync(() => App.ProcessedBodies.Contains("hi"), "\"hi\" is processed");
    }

    [Fact]
    public async Task A_body_with_line_breaks_and_terminal_escapes_is_reported_on_one_line_with_them_escaped()
    {
        await DispatchAsync(new { queue_name = "forged", body = "line1\r\nwarn: a forged log line\u001b[31m red\u0000\u2028end\tok\u202e" });

        using var response = await Http.GetAsync("/listen?queue_name=forged&wait_time=1");

        await Eventually.ValueAsync(() => App.ProcessedBodies.Count, count => count == 1, "the message is processed");
        App.ProcessedBodies.Should().Equal(@"line1\r\nwarn: a forged log line\u001b[31m red\u0000\u2028end" + "\tok" + @"\u202e");
        App.Output.Lines.Should().OnlyContain(
            line => !line.Any(c => c != '\t' && (char.IsControl(c) || c == '\u2028')), "no body writes a raw control character to stdout");
    }

    [Fact]
    public async Task Bodies_that_differ_print_different_lines_even_when_one_spells_out_the_other_s_escape()
    {
        // A path with a backslash and a line break, a spelt-out terminal escape and a real one.
        foreach (var body in new[] { @"C:\new", "C:\new", @"\u001b[31m", "\u001b[31m" })
        {
            await DispatchAsync(new { queue_name = "lookalikes", body });
        }

        using var response = await Http.GetAsync("/listen?queue_name=lookalikes&wait_time=1");

        await Eventually.ValueAsync(() => App.ProcessedBodies.Count, count => count == 4, "the 4 messages are processed");
        App.ProcessedBodies.Should().BeEquivalentTo(@"C:\\new", @"C:\new", @"\\u001b[31m", @"\u001b[31m");
    }

    [Fact]
    public async Task A_second_listen_for_the_same_queue_starts_no_second_loop()
    {
        var queue = (await DispatchAsync(new { queue_name = "orders", body = "hi" })).Queue;
        using var first = await Http.GetAsync("/listen?queue_name=orders&wait_time=1");

        var again = await Task.WhenAll(
            Http.GetAsync("/listen?queue_name=orders&wait_time=1"),
            Http.GetAsync($"/listen?queue_id={queue.Id}&wait_time=1"));

        first.StatusCode.Should().Be(HttpStatusCode.Accepted);
        again.Should().AllSatisfy(r => r.StatusCode.Should().Be(HttpStatusCode.OK));
        (await ListenersAsync()).Should().ContainSingle().Which.Queue.Id.Should().Be(queue.Id);
        await Eventually.ValueAsync(() => App.ProcessedBodies.Count, count => count == 1, "1 message(s) processed");
        foreach (var response in again)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task Delete_listen_stops_the_loop_and_a_second_delete_is_a_404()
    {
        await DispatchAsync(new { queue_name = "orders", body = "hi" });
        using var started = await Http.GetAsync("/listen?queue_name=orders&wait_time=5");

        using var stopped = await Http.DeleteAsync("/listen?queue_name=orders");
        using var again = await Http.DeleteAsync("/listen?queue_name=orders");

        stopped.StatusCode.Should().Be(HttpStatusCode.OK);
        (await stopped.Content.ReadFromJsonAsync<ListenerView>(WonderQJson.Options))!.Listening.Should().BeFalse();
        (await ListenersAsync()).Should().BeEmpty();
        again.StatusCode.Should().Be(HttpStatusCode.NotFound);
        again.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
    }

    [Fact]
    public async Task Listen_while_the_queue_s_loop_is_still_winding_down_starts_a_new_one()
    {
        await DispatchAsync(new { queue_name = "handover", body = "first" });
        using var acknowledging = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        App.BrokerRequest = request =>
        {
            // The first loop's acknowledgement hangs, so that once stopped it stays winding down.
            if (UserAppFactory.IsAcknowledgement(request))
            {
                acknowledging.Set();
                release.Wait(TimeSpan.FromSeconds(30));
            }

            return null;
        };
        using var started = await Http.GetAsync("/listen?queue_name=handover&wait_time=1");
        acknowledging.Wait(TimeSpan.FromSeconds(30)).Should().BeTrue("the loop acknowledges the message it printed");
        var registry = App.Services.GetRequiredService<ListenerRegistry>();
        var stopping = Http.DeleteAsync("/listen?queue_name=handover");
        await Eventually.TrueAsync(() => registry.List().Single().IsStopping, "the loop is stopping");
        (await ListenersAsync()).Should().ContainSingle().Which.Listening.Should().BeFalse("it is winding down");

        using var again = await Http.GetAsync("/listen?queue_name=handover&wait_time=1");
        release.Set();
        using var stopped = await stopping;

        again.StatusCode.Should().Be(HttpStatusCode.Accepted, "a loop that is stopping is not the queue's listener; a new loop starts");
        stopped.StatusCode.Should().Be(HttpStatusCode.OK);
        (await ListenersAsync()).Should().ContainSingle().Which.Listening.Should().BeTrue();
    }

    [Fact]
    public async Task Listen_by_name_after_the_queue_was_deleted_and_created_again_listens_to_the_new_queue()
    {
        // The old queue's loop pauses a minute after the empty answer its queue's deletion wakes it with, so it is still
        // running when the name is asked for again.
        await using var app = new UserAppFactory(Broker.Url, new Dictionary<string, string> { ["UserApp:ListenerIdleDelay"] = "00:01:00" });
        using var http = app.CreateClient();
        using var created = await http.PostAsJsonAsync("/dispatch", new { queue_name = "reborn", body = "to the old queue" }, WonderQJson.Options);
        var old = (await created.Content.ReadFromJsonAsync<WonderQ.UserApp.Dispatch.DispatchResponse>(WonderQJson.Options))!.Queue;
        using var first = await http.GetAsync("/listen?queue_name=reborn&wait_time=20");
        await Eventually.ValueAsync(() => app.ProcessedBodies.Count, count => count == 1, "the old queue's message is processed");
        (await BrokerClient.Client.DeleteQueueAsync(QueueRef.ById(old.Id))).Should().BeTrue();
        using var recreated = await http.PostAsJsonAsync("/dispatch", new { queue_name = "reborn", body = "to the new queue" }, WonderQJson.Options);
        var renewed = (await recreated.Content.ReadFromJsonAsync<WonderQ.UserApp.Dispatch.DispatchResponse>(WonderQJson.Options))!.Queue;
        renewed.Id.Should().NotBe(old.Id);

        using var again = await http.GetAsync("/listen?queue_name=reborn&wait_time=20");

        again.StatusCode.Should().Be(HttpStatusCode.Accepted, "the loop running under that name is the deleted queue's");
        (await again.Content.ReadFromJsonAsync<ListenerView>(WonderQJson.Options))!.Queue.Id.Should().Be(renewed.Id);
        await Eventually.ValueAsync(() => app.ProcessedBodies.Count, count => count == 2, "the new queue's message is processed");
        app.ProcessedBodies[1].Should().Be("to the new queue");

        // Stopping by name, while the old loop still pauses, stops the new queue's loop, not the dying one.
        using var stopped = await http.DeleteAsync("/listen?queue_name=reborn");
        stopped.StatusCode.Should().Be(HttpStatusCode.OK);
        var running = await http.GetFromJsonAsync<ListenerView[]>("/listeners", WonderQJson.Options);
        running!.Select(l => l.Queue.Id).Should().NotContain(renewed.Id);
    }

    [Fact]
    public async Task Listen_by_name_while_the_broker_is_out_of_reach_answers_with_the_loop_that_runs()
    {
        // The client's retries of the name's look-up pass at once on this clock; the loop waits in a long poll meanwhile.
        await using var app = new UserAppFactory(Broker.Url, clock: new ShortWaitsClock());
        using var http = app.CreateClient();
        await BrokerClient.Client.CreateQueueAsync("outage");
        using var polling = new SemaphoreSlim(0);
        app.BrokerRequest = request =>
        {
            if (IsConsume(request))
            {
                polling.Release();
            }

            return null;
        };
        using var first = await http.GetAsync("/listen?queue_name=outage&wait_time=20");
        (await polling.WaitAsync(TimeSpan.FromSeconds(30))).Should().BeTrue("the loop polls its queue");
        app.BrokerRequest = _ => Unavailable();

        using var again = await http.GetAsync("/listen?queue_name=outage&wait_time=1");

        again.StatusCode.Should().Be(HttpStatusCode.OK, await again.Content.ReadAsStringAsync());
        (await again.Content.ReadFromJsonAsync<ListenerView>(WonderQJson.Options))!.Queue.Name.Should().Be("outage");
    }

    [Fact]
    public async Task A_loop_whose_queue_id_is_given_to_another_queue_by_a_fresh_broker_database_takes_none_of_its_messages()
    {
        await DispatchAsync(new { queue_name = "mine", body = "mine" });
        using var started = await Http.GetAsync("/listen?queue_name=mine&wait_time=1");
        await Eventually.ValueAsync(() => App.ProcessedBodies.Count, count => count == 1, "the queue's message is processed");

        // The broker is started again on a new database file, as after deleting data/wonderq.db, and its first queue
        // (the same id as the loop's) is another one; the loop's consumes are held off until it is there.
        App.BrokerRequest = request => IsConsume(request) ? Unavailable() : null;
        await Broker.StopAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var file in Directory.GetFiles(Path.GetDirectoryName(Broker.DatabasePath)!))
        {
            File.Delete(file);
        }

        await Broker.RestartAsync();
        using var client = new TestBrokerClient(Broker.Url);
        (await client.Client.CreateQueueAsync("theirs")).Id.Should().Be((await ListenersAsync()).Single().Queue.Id);
        await client.Client.SendAsync(QueueRef.ByName("theirs"), "not mine");
        App.BrokerRequest = null;

        await Eventually.TrueAsync(
            async () => App.ProcessedBodies.Count > 1 || (await ListenersAsync()).Length == 0, "the loop ends or takes the other queue's message");
        App.ProcessedBodies.Should().Equal(["mine"], "the queue with the loop's id is another queue");
        (await client.Client.ListQueuesAsync()).Single().QueueSize.Should().Be(1);
    }

    [Fact]
    public async Task Listen_to_an_unknown_queue_is_a_404()
    {
        using var response = await Http.GetAsync("/listen?queue_name=nowhere");

        response.StatusCode.Should().Be(HttpStatusCode.NotFound);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        (await ListenersAsync()).Should().BeEmpty();
    }

    [Theory]
    [InlineData("cross-site")]
    [InlineData("same-site")]
    public async Task Listen_asked_for_by_another_origin_s_page_is_a_403_that_starts_no_loop(string site)
    {
        // A page on any site can make its reader's browser send this GET (an image, say), and the loop deletes what it
        // reads; one served from another port of this machine is same-site to the browser.
        using var response = await ListenToOrdersAsync(site);

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        (await response.Content.ReadAsStringAsync()).Should().Contain($"(Sec-Fetch-Site: {site})");
        (await ListenersAsync()).Should().BeEmpty();
        (await QueueSizeAsync("orders")).Should().Be(1);
    }

    [Theory]
    [InlineData("evil.example:3000", HttpStatusCode.BadRequest)]
    [InlineData("localhost:3000", HttpStatusCode.Accepted)]
    [InlineData("127.0.0.1:3000", HttpStatusCode.Accepted)]
    public async Task Listen_addressed_to_a_name_other_than_this_machine_s_starts_no_loop(string host, HttpStatusCode expected)
    {
        // A page whose own name is pointed at 127.0.0.1 (DNS rebinding) is same-origin to the browser: only its Host tells.
        using var response = await ListenToOrdersAsync("same-origin", host);

        response.StatusCode.Should().Be(expected);
        if (expected == HttpStatusCode.BadRequest)
        {
            response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
            (await ListenersAsync()).Should().BeEmpty();
            (await QueueSizeAsync("orders")).Should().Be(1);
        }
    }

    [Theory]
    [InlineData("none")]
    [InlineData("same-origin")]
    public async Task Listen_from_the_address_bar_or_the_app_s_own_page_is_served(string site)
    {
        using var response = await ListenToOrdersAsync(site);

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
    }

    /// <summary>A listen to "orders", which holds a message, as a browser sends it from <paramref name="site"/> (to <paramref name="host"/>).</summary>
    private async Task<HttpResponseMessage> ListenToOrdersAsync(string site, string? host = null)
    {
        await DispatchAsync(new { queue_name = "orders", body = "not yours" });
        using var request = new HttpRequestMessage(HttpMethod.Get, "/listen?queue_name=orders&wait_time=0");
        request.Headers.Add("Sec-Fetch-Site", site);
        request.Headers.Host = host;

        return await Http.SendAsync(request);
    }

    [Theory]
    [InlineData("/listen")]
    [InlineData("/listen?queue_name=orders&size=0")]
    [InlineData("/listen?queue_name=orders&wait_time=21")]
    [InlineData("/listen?queue_name=orders&visibility_timeout=abc")]
    public async Task Listen_with_bad_input_is_a_400(string url)
    {
        using var response = await Http.GetAsync(url);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
    }

    [Fact]
    public async Task The_loop_survives_a_broker_restart_resumes_and_warns_of_it()
    {
        await DispatchAsync(new { queue_name = "durable", stub = 5 });
        using var started = await Http.GetAsync("/listen?queue_name=durable&wait_time=1");
        await Eventually.ValueAsync(() => App.ProcessedBodies.Count, count => count == 5, "5 message(s) processed");
        await Eventually.ValueAsync(() => QueueSizeAsync("durable"), size => size == 0, "the queue is drained");

        // Stop the broker, let the loop fail against the closed port a few times, then start a new one on the same
        // port and file: the loop must pick up what is sent after the restart.
        var attempts = 0;
        App.BrokerRequest = request =>
        {
            if (request.RequestUri!.AbsolutePath.EndsWith("/messages/consume", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref attempts);
            }

            return null;
        };
        await Broker.StopAsync();
        var before = Volatile.Read(ref attempts);
        await Eventually.ValueAsync(() => Volatile.Read(ref attempts), count => count >= before + 3, "the loop keeps trying while the broker is down");
        await Broker.RestartAsync();
        using var client = new TestBrokerClient(Broker.Url);
        for (var i = 1; i <= 5; i++)
        {
            await client.Client.SendAsync(QueueRef.ByName("durable"), $"after restart {i}");
        }

        await Eventually.ValueAsync(() => App.ProcessedBodies.Count, count => count == 10, "10 message(s) processed");
        App.ProcessedBodies.Skip(5).Should().BeEquivalentTo(Enumerable.Range(1, 5).Select(i => $"after restart {i}"));
        (await ListenersAsync()).Should().ContainSingle().Which.Processed.Should().Be(10);
        await Eventually.ValueAsync(async () => (await client.Client.ListQueuesAsync()).Single().QueueSize, size => size == 0, "the queue is drained");

        // The client warns at its first retry: a restart its retries ride out, where no consume of the loop's fails for
        // good and the loop says nothing, is still seen in the log.
        App.Logs.Lines.Should().Contain(w => w.Contains($"The broker at {Broker.Url}", StringComparison.Ordinal)
            && w.Contains("did not answer: the connection was refused, reset or closed: retrying", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_loop_ends_promptly_when_the_app_stops_even_mid_long_poll()
    {
        await DispatchAsync(new { queue_name = "idle", body = "only" });
        using var started = await Http.GetAsync("/listen?queue_name=idle&wait_time=20");
        await Eventually.ValueAsync(() => App.ProcessedBodies.Count, count => count == 1, "1 message(s) processed");
        var clock = System.Diagnostics.Stopwatch.StartNew();

        await App.DisposeAsync();

        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(15), "stopping cancels the 20 s long poll instead of waiting it out");
    }

    [Fact]
    public async Task Stopping_the_app_mid_batch_leaves_no_printed_message_unacknowledged()
    {
        (await DispatchAsync(new { queue_name = "drain", stub = 2000 })).Failed.Should().BeEmpty();
        var lifetime = App.Services.GetRequiredService<IHostApplicationLifetime>();
        var printed = 0;
        // The app starts stopping just as the 250th message is printed, halfway through a batch of 100.
        App.Output.LineWritten = _ =>
        {
            if (Interlocked.Increment(ref printed) == 250)
            {
                lifetime.StopApplication();
            }
        };
        using var started = await Http.GetAsync("/listen?queue_name=drain&size=100&wait_time=1&visibility_timeout=600");
        await Eventually.ValueAsync(() => App.ProcessedBodies.Count, count => count >= 250, "250 messages are processed");

        await App.DisposeAsync();

        // Every message is either printed and deleted, or not printed and still in the queue (in flight, perhaps).
        var bodies = App.ProcessedBodies;
        bodies.Should().HaveCount(250, "nothing more is printed once the app stops").And.OnlyHaveUniqueItems();
        (await QueueSizeAsync("drain") + bodies.Count).Should().Be(2000, "a printed message had its acknowledgement sent before the loop stopped");
    }

    [Fact]
    public async Task A_message_whose_reservation_ran_out_mid_batch_is_left_to_the_consumer_that_claimed_it_not_printed()
    {
        foreach (var body in new[] { "first", "second", "third" })
        {
            (await DispatchAsync(new { queue_name = "stalled", body })).Failed.Should().BeEmpty();
        }

        // The first acknowledgement takes longer than the batch's 1 s reservation (a slow broker, a blocked stdout): it is
        // held until the reservation has run out, on the app's clock and at the broker.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = new UserAppFactory(Broker.Url, clock: clock);
        using var http = app.CreateClient();
        var acknowledging = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var release = new ManualResetEventSlim();
        var deletes = 0;
        app.BrokerRequest = request =>
        {
            if (request.Method == HttpMethod.Delete && Interlocked.Increment(ref deletes) == 1)
            {
                acknowledging.TrySetResult();
                release.Wait(TimeSpan.FromSeconds(30));
            }

            return null;
        };
        using var started = await http.GetAsync("/listen?queue_name=stalled&size=3&wait_time=1&visibility_timeout=1");
        await acknowledging.Task.WaitAsync(TimeSpan.FromSeconds(30));
        app.ProcessedBodies.Should().Equal(["first"]);

        // Meanwhile another consumer claims what the loop holds no more (the first too: its delete has not arrived yet).
        var claimed = await BrokerClient.Client.ConsumeAsync(QueueRef.ByName("stalled"), size: 3, waitTimeSeconds: 5, visibilityTimeoutSeconds: 60);
        clock.Advance(TimeSpan.FromSeconds(1));
        release.Set();
        await Eventually.ValueAsync(
            () => string.Join(" | ", app.Logs.Lines), warnings => warnings.Contains("left 2 messages", StringComparison.Ordinal), "a warning says so");

        claimed.Select(m => m.Body).Should().Contain(["second", "third"]);
        app.ProcessedBodies.Should().Equal(["first"], "a message is not printed while another consumer holds it");
    }

    [Fact]
    public async Task An_acknowledgement_arriving_after_another_consumer_claimed_the_message_leaves_it_to_that_consumer()
    {
        (await DispatchAsync(new { queue_name = "taken", body = "claimed twice" })).Failed.Should().BeEmpty();
        // The acknowledgement takes longer than the loop's 1 s reservation (a slow broker, a blocked stdout): it is held
        // until another consumer has the message.
        var acknowledging = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var release = new ManualResetEventSlim();
        App.BrokerRequest = request =>
        {
            if (UserAppFactory.IsAcknowledgement(request))
            {
                acknowledging.TrySetResult();
                release.Wait(TimeSpan.FromSeconds(30));
            }

            return null;
        };
        using var started = await Http.GetAsync("/listen?queue_name=taken&size=1&wait_time=1&visibility_timeout=1");
        await acknowledging.Task.WaitAsync(TimeSpan.FromSeconds(30));
        App.ProcessedBodies.Should().Equal(["claimed twice"]);

        // Another consumer claims the message once the loop's reservation has run out, before that acknowledgement arrives.
        var claimed = (await BrokerClient.Client.ConsumeAsync(QueueRef.ByName("taken"), size: 1, waitTimeSeconds: 5, visibilityTimeoutSeconds: 60)).Single();
        release.Set();
        await Eventually.TrueAsync(
            async () => App.Logs.Lines.Any(w => w.Contains("Could not delete message", StringComparison.Ordinal)) || await QueueSizeAsync("taken") == 0,
            "the late acknowledgement is answered");

        (await QueueSizeAsync("taken")).Should().Be(1, "the late acknowledgement carries the loop's token, which no longer holds the message");
        (await BrokerClient.Client.DeleteMessageAsync(claimed.Id, claimed.ReservationToken)).Should().BeTrue("the consumer that holds it acknowledges it");
    }

    [Fact]
    public async Task A_message_claimed_late_in_a_long_poll_longer_than_its_visibility_timeout_is_printed()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = new UserAppFactory(Broker.Url, clock: clock);
        using var http = app.CreateClient();
        await BrokerClient.Client.CreateQueueAsync("late");
        using var polling = new SemaphoreSlim(0);
        app.BrokerRequest = request =>
        {
            if (IsConsume(request))
            {
                polling.Release();
            }

            return null;
        };
        using var started = await http.GetAsync("/listen?queue_name=late&wait_time=5&visibility_timeout=1");
        (await polling.WaitAsync(TimeSpan.FromSeconds(30))).Should().BeTrue("the loop polls its queue");
        // The loop reckons its reservation on its own clock: 2.5 s of the poll go by there before the message comes.
        clock.Advance(TimeSpan.FromSeconds(2.5));

        await BrokerClient.Client.SendAsync(QueueRef.ByName("late"), "after 2.5 s of the poll");

        await Eventually.ValueAsync(() => app.ProcessedBodies.Count, count => count == 1, "the message is printed");
        app.Logs.Lines.Should().BeEmpty("its reservation runs from its claim, not from when the poll began");
        // Printed first, then deleted: the delete may still be on its way.
        await Eventually.ValueAsync(() => QueueSizeAsync("late"), size => size == 0, "the printed message is deleted");
    }

    [Fact]
    public async Task A_loop_with_a_visibility_timeout_of_0_prints_and_deletes_each_message()
    {
        (await DispatchAsync(new { queue_name = "unreserved", stub = 3 })).Failed.Should().BeEmpty();

        using var started = await Http.GetAsync("/listen?queue_name=unreserved&wait_time=1&visibility_timeout=0");

        // A reservation of 0 s never runs out mid-batch, as it never began: no message is left unprinted for it.
        await Eventually.TrueAsync(() => App.ProcessedBodies.Count == 3 || App.Logs.Lines.Count > 0, "the batch is processed");
        App.Logs.Lines.Should().BeEmpty();
        App.ProcessedBodies.Should().HaveCount(3);
        await Eventually.ValueAsync(() => QueueSizeAsync("unreserved"), size => size == 0, "every printed message is deleted");
    }

    [Fact]
    public async Task Listen_without_loop_settings_runs_with_the_UserApp_defaults()
    {
        await DispatchAsync(new { queue_name = "defaults", body = "hi" });
        var consumes = new System.Collections.Concurrent.ConcurrentQueue<Uri>();
        App.BrokerRequest = request =>
        {
            if (IsConsume(request))
            {
                consumes.Enqueue(request.RequestUri!);
            }

            return null;
        };

        using var response = await Http.GetAsync("/listen?queue_name=defaults");

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        var view = (await response.Content.ReadFromJsonAsync<ListenerView>(WonderQJson.Options))!;
        (view.Size, view.WaitTime, view.VisibilityTimeout).Should().Be((10, 20, 30), "UserApp:ListenerSize, ListenerWaitTimeSeconds and ListenerVisibilityTimeoutSeconds");
        // What the loop asks the broker for, not only what it says it runs with: polls of a second in place of 20 s long
        // polls reported the same view.
        await Eventually.TrueAsync(() => !consumes.IsEmpty, "the loop consumes");
        var asked = System.Web.HttpUtility.ParseQueryString(consumes.First().Query);
        (asked["size"], asked["wait_time"], asked["visibility_timeout"]).Should().Be(("10", "20", "30"));
    }

    [Fact]
    public async Task A_loop_without_a_long_poll_pauses_after_each_empty_answer()
    {
        var clock = new PauseCountingClock(_idleDelay);
        await using var app = AppPausing(clock);
        using var http = app.CreateClient();
        var consumes = 0;
        app.BrokerRequest = request =>
        {
            if (IsConsume(request))
            {
                Interlocked.Increment(ref consumes);
            }

            return null;
        };
        using var created = await http.PostAsJsonAsync("/dispatch", new { queue_name = "quiet", body = "first" }, WonderQJson.Options);
        using var started = await http.GetAsync("/listen?queue_name=quiet&wait_time=0");
        await Eventually.ValueAsync(() => (app.ProcessedBodies.Count, clock.Pauses), seen => seen == (1, 1), "the queue is empty now, and the loop pauses");
        var sent = Volatile.Read(ref consumes);

        // While the clock stands still, or short of the pause, the loop sends nothing; at the pause's end, one consume.
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        clock.Advance(_idleDelay - TimeSpan.FromMilliseconds(1));
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        Volatile.Read(ref consumes).Should().Be(sent, "the loop waits out its pause instead of spinning");
        clock.Advance(TimeSpan.FromMilliseconds(1));
        await Eventually.ValueAsync(() => clock.Pauses, pauses => pauses == 2, "one more empty answer, one more pause");
        Volatile.Read(ref consumes).Should().Be(sent + 1);

        await BrokerClient.Client.SendAsync(QueueRef.ByName("quiet"), "second");
        clock.Advance(_idleDelay);
        await Eventually.ValueAsync(() => app.ProcessedBodies.Count, count => count == 2, "the loop still picks up what comes");
    }

    [Fact]
    public async Task A_long_poll_answered_empty_at_once_is_followed_by_a_pause_not_another_poll_at_once()
    {
        // As a stopping broker answers every consume: empty, without waiting out the wait_time.
        var clock = new PauseCountingClock(_idleDelay);
        await using var app = AppPausing(clock);
        using var http = app.CreateClient();
        var consumes = 0;
        app.BrokerRequest = request =>
        {
            if (!IsConsume(request))
            {
                return null;
            }

            Interlocked.Increment(ref consumes);
            return EmptyAnswer();
        };
        using var created = await http.PostAsJsonAsync("/dispatch", new { queue_name = "stopping", body = "left for later" }, WonderQJson.Options);
        using var started = await http.GetAsync("/listen?queue_name=stopping&wait_time=20");
        await Eventually.ValueAsync(() => clock.Pauses, pauses => pauses == 1, "an empty answer long before its 20 s is followed by a pause");

        await Task.Delay(TimeSpan.FromMilliseconds(300));
        Volatile.Read(ref consumes).Should().Be(1, "the loop waits out its pause instead of asking again at once");
        clock.Advance(_idleDelay);
        await Eventually.ValueAsync(() => (Volatile.Read(ref consumes), clock.Pauses), seen => seen == (2, 2), "one more poll after the pause, and one more pause");
    }

    [Fact]
    public async Task A_long_poll_answered_empty_after_its_whole_wait_is_followed_by_the_next_poll_at_once()
    {
        var clock = new PauseCountingClock(_idleDelay);
        await using var app = AppPausing(clock);
        using var http = app.CreateClient();
        var consumes = 0;
        app.BrokerRequest = request =>
        {
            if (!IsConsume(request) || Interlocked.Increment(ref consumes) > 3)
            {
                return null;
            }

            // The broker waited the whole 20 s and found nothing.
            clock.Advance(TimeSpan.FromSeconds(20));
            return EmptyAnswer();
        };
        using var created = await http.PostAsJsonAsync("/dispatch", new { queue_name = "patient", body = "after three empty polls" }, WonderQJson.Options);
        using var started = await http.GetAsync("/listen?queue_name=patient&wait_time=20");

        await Eventually.ValueAsync(() => app.ProcessedBodies.Count, count => count == 1, "three empty long polls, then the message, without the clock moving on its own");
        clock.Pauses.Should().Be(0, "a long poll that waited its time out is the wait; no pause goes after it");
    }

    private static readonly TimeSpan _idleDelay = TimeSpan.FromMilliseconds(500);

    /// <summary>The app on <paramref name="clock"/>, its listeners pausing <see cref="_idleDelay"/> after an empty answer.</summary>
    private UserAppFactory AppPausing(PauseCountingClock clock) =>
        new(Broker.Url, new Dictionary<string, string> { ["UserApp:ListenerIdleDelay"] = _idleDelay.ToString() }, clock);

    private static bool IsConsume(HttpRequestMessage request) => request.RequestUri!.AbsolutePath.EndsWith("/messages/consume", StringComparison.Ordinal);

    private static HttpResponseMessage Unavailable() => new(HttpStatusCode.ServiceUnavailable)
    {
        Content = new StringContent("""{"status":503,"title":"Busy.","detail":"Try again."}""", Encoding.UTF8, "application/problem+json"),
    };

    private static HttpResponseMessage EmptyAnswer() => new(HttpStatusCode.OK) { Content = new StringContent("[]", Encoding.UTF8, "application/json") };

    /// <summary>
    /// A fake clock that counts the timers of one length started on it: the loop's idle pauses (the app's other timers
    /// on this clock, the client's timeouts, run seconds long).
    /// </summary>
    private sealed class PauseCountingClock(TimeSpan pause) : FakeTimeProvider(DateTimeOffset.UtcNow)
    {
        private int _pauses;

        public int Pauses => Volatile.Read(ref _pauses);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            if (dueTime == pause)
            {
                Interlocked.Increment(ref _pauses);
            }

            return base.CreateTimer(callback, state, dueTime, period);
        }
    }

    [GeneratedRegex(@"^message #(\d+) at \d+$")]
    private static partial Regex StubNumber();
}
