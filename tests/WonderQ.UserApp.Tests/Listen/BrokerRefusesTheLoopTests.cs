using System.Net;
using System.Net.Http.Json;
using WonderQ.Shared.Json;
using WonderQ.UserApp.Listen;
using WonderQ.UserApp.Tests.Infrastructure;

namespace WonderQ.UserApp.Tests.Listen;

/// <summary>
/// A broker that starts refusing the UserApp itself while a loop runs (restarted with other keys) is fixed on the
/// broker's side, without touching the UserApp: the loop waits, and says why, rather than stop and leave its queue
/// to pile up unseen.
/// </summary>
public sealed class BrokerRefusesTheLoopTests : UserAppTestBase
{
    // Each refused consume is one attempt of the loop's, not of the client's retries within it.
    protected override IDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Broker:ApiKey"] = "the-apps-key",
        ["Broker:MaxRetries"] = "0",
    };

    [Fact]
    public async Task A_loop_whose_key_a_restarted_broker_refuses_waits_and_processes_again_once_the_broker_takes_its_key()
    {
        // Arrange: a loop at work on a broker that takes any call.
        await DispatchAsync(new { queue_name = "rotated", body = "before" });
        using var started = await Http.GetAsync("/listen?queue_name=rotated&wait_time=1");
        await Eventually.ValueAsync(() => App.ProcessedBodies.Count, count => count == 1, "the first message is processed");

        // Act: the broker is restarted on its file with a key the app does not send.
        await Broker.RestartWithAsync("--Auth:ApiKeys:0=another-key");
        var consumes = 0;
        App.BrokerRequest = request =>
        {
            if (request.RequestUri!.AbsolutePath == "/messages/consume")
            {
                Interlocked.Increment(ref consumes);
            }

            return null;
        };

        // Assert: the loop still runs, tries again and again, and GET /listeners says why it takes nothing.
        await Eventually.ValueAsync(() => Volatile.Read(ref consumes), count => count >= 4, "the refused loop keeps asking");
        var waiting = (await ListenersAsync()).Should().ContainSingle().Subject;
        waiting.Listening.Should().BeTrue();
        waiting.PausedBecause.Should().Contain("does not take this app's key").And.Contain("Broker:ApiKey");
        var refusals = App.Logs.Lines.Where(w => w.Contains("does not take this app's key", StringComparison.Ordinal)).ToList();
        refusals.Should().ContainSingle(w => w.StartsWith("The broker at", StringComparison.Ordinal), "the client says once which setting to fix");
        refusals.Should().ContainSingle(w => w.Contains("could not consume", StringComparison.Ordinal), "the loop says once that it waits, not at each attempt");
        refusals.Should().HaveCount(2);

        // Asked for again by name meanwhile, the UserApp answers with the running loop, as it does in an outage, not
        // with the broker's refusal of a lookup the loop does not need.
        using var again = await Http.GetAsync("/listen?queue_name=rotated");
        again.StatusCode.Should().Be(HttpStatusCode.OK, await again.Content.ReadAsStringAsync());
        (await again.Content.ReadFromJsonAsync<ListenerView>(WonderQJson.Options))!.PausedBecause.Should().Contain("Broker:ApiKey");

        // Act: the broker is restarted with the app's key.
        await Broker.RestartWithAsync("--Auth:ApiKeys:0=the-apps-key");
        await DispatchAsync(new { queue_name = "rotated", body = "after" });

        // Assert
        await Eventually.ValueAsync(() => App.ProcessedBodies.Count, count => count == 2, "the loop processes again");
        App.ProcessedBodies.Should().Equal(["before", "after"]);
        var resumed = await Eventually.ValueAsync(
            ListenersAsync, listeners => listeners.Length == 1 && listeners[0].PausedBecause is null, "the loop shows it consumes again");
        resumed[0].Processed.Should().Be(2);
        App.Logs.Lines.Should().NotContain(w => w.Contains("stops", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_broker_that_refuses_the_apps_key_mid_batch_is_waited_out_before_the_rest_is_printed()
    {
        // Arrange: a batch of three, and a broker that refuses the app's key for every acknowledgement until its
        // operator puts the key back.
        foreach (var body in new[] { "first", "second", "third" })
        {
            (await DispatchAsync(new { queue_name = "revoked", body })).Failed.Should().BeEmpty();
        }

        var fixedUp = false;
        var refused = 0;
        App.BrokerRequest = request =>
        {
            if (!UserAppFactory.IsAcknowledgement(request) || Volatile.Read(ref fixedUp))
            {
                return null;
            }

            Interlocked.Increment(ref refused);
            return new HttpResponseMessage(System.Net.HttpStatusCode.Unauthorized)
            {
                Content = new StringContent(
                    """{"status":401,"title":"Unauthorized.","detail":"Send 'Authorization: Bearer <key>'."}""",
                    System.Text.Encoding.UTF8,
                    "application/problem+json"),
            };
        };

        // Act
        using var started = await Http.GetAsync("/listen?queue_name=revoked&size=3&wait_time=1&visibility_timeout=600");
        await Eventually.ValueAsync(() => Volatile.Read(ref refused), count => count >= 3, "the first acknowledgement is refused again and again");

        // Assert: nothing more is printed while no acknowledgement gets through, as it would all be delivered again.
        App.ProcessedBodies.Should().Equal(["first"], "the rest of the batch waits for the broker to take the key");
        (await ListenersAsync()).Should().ContainSingle().Which.PausedBecause.Should().Contain("Broker:ApiKey");

        // Act
        Volatile.Write(ref fixedUp, true);

        // Assert: each message printed once and deleted.
        await Eventually.ValueAsync(() => QueueSizeAsync("revoked"), size => size == 0, "every message is acknowledged");
        App.ProcessedBodies.Should().Equal(["first", "second", "third"]);
        (await ListenersAsync()).Should().ContainSingle().Which.PausedBecause.Should().BeNull();
    }

    [Fact]
    public async Task A_loop_whose_refused_acknowledgement_is_then_given_up_does_not_go_on_saying_it_waits()
    {
        // Arrange: the broker refuses the app's key for an acknowledgement, then answers it 409 (the message claimed
        // by another consumer meanwhile), which the loop gives up on and moves past.
        (await DispatchAsync(new { queue_name = "superseded", body = "only" })).Failed.Should().BeEmpty();
        var refused = 0;
        App.BrokerRequest = request =>
        {
            if (!UserAppFactory.IsAcknowledgement(request))
            {
                return null;
            }

            var (status, body) = Interlocked.Increment(ref refused) <= 2
                ? (HttpStatusCode.Unauthorized, """{"status":401,"title":"Unauthorized.","detail":"Send 'Authorization: Bearer <key>'."}""")
                : (HttpStatusCode.Conflict, """{"status":409,"title":"Conflict.","detail":"The message is reserved under another token."}""");
            return new HttpResponseMessage(status)
            {
                Content = new StringContent(body, System.Text.Encoding.UTF8, "application/problem+json"),
            };
        };

        // Act
        using var started = await Http.GetAsync("/listen?queue_name=superseded&wait_time=1&visibility_timeout=600");
        await Eventually.ValueAsync(() => Volatile.Read(ref refused), count => count >= 3, "the acknowledgement is refused, then answered 409");

        // Assert: the loop consumes again, and says nothing of a wait that is over.
        var listener = await Eventually.ValueAsync(
            ListenersAsync, listeners => listeners.Length == 1 && listeners[0].PausedBecause is null, "the loop no longer waits for the broker");
        listener[0].Listening.Should().BeTrue();
        App.ProcessedBodies.Should().Equal(["only"]);
    }

    [Fact]
    public async Task A_loop_stopped_while_it_waits_for_the_broker_is_answered_as_stopped_not_as_waiting()
    {
        // Arrange: a loop that waits, as a restarted broker refuses the app's key.
        (await DispatchAsync(new { queue_name = "stopped", body = "first" })).Failed.Should().BeEmpty();
        using var started = await Http.GetAsync("/listen?queue_name=stopped&wait_time=1");
        await Eventually.ValueAsync(() => App.ProcessedBodies.Count, count => count == 1, "the first message is processed");
        await Broker.RestartWithAsync("--Auth:ApiKeys:0=another-key");
        await Eventually.ValueAsync(
            ListenersAsync, listeners => listeners.Length == 1 && listeners[0].PausedBecause is not null, "the loop waits for the broker");

        // Act
        using var stopped = await Http.DeleteAsync("/listen?queue_name=stopped");

        // Assert: the wait is not why it stopped; the user asked.
        stopped.StatusCode.Should().Be(HttpStatusCode.OK);
        var view = (await stopped.Content.ReadFromJsonAsync<ListenerView>(WonderQJson.Options))!;
        view.Listening.Should().BeFalse();
        view.PausedBecause.Should().BeNull();
        view.Processed.Should().Be(1);
    }

}
