using System.Diagnostics;
using System.Text.Json;
using WonderQ.LoadTest;

namespace WonderQ.Broker.Tests.LoadTool;

/// <summary>
/// A message received twice is a duplicate when both claims certainly fell inside one visibility timeout (each claim is
/// known only to lie between its consume's sending and its answer), or when the second came from a consume sent after
/// a delete of the message was answered 200.
/// </summary>
public sealed class LedgerTests
{
    private static readonly TimeSpan _visibility = TimeSpan.FromSeconds(1);

    [Fact]
    public void Two_receipts_from_consumes_sent_moments_apart_are_a_duplicate()
    {
        var ledger = new Ledger(_visibility, 64);
        var body = Body.Create("run", 1, 64);

        ledger.Receive(1, body, "run", Stopwatch.GetTimestamp(), out _);
        ledger.Receive(1, body, "run", Stopwatch.GetTimestamp(), out _);

        ledger.Duplicates.Should().Be(1);
        ledger.ToleratedDuplicates.Should().Be(0);
    }

    [Fact]
    public void A_redelivery_may_follow_a_first_claim_made_when_its_consume_was_sent_though_answered_late()
    {
        // The first consume was sent 2 s ago and answered only now: its claim may be 2 s old, past the 1 s timeout.
        var ledger = new Ledger(_visibility, 64);
        var body = Body.Create("run", 1, 64);

        ledger.Receive(1, body, "run", Stopwatch.GetTimestamp() - (2 * Stopwatch.Frequency), out _);
        ledger.Receive(1, body, "run", Stopwatch.GetTimestamp(), out _);

        ledger.Duplicates.Should().Be(0);
        ledger.ToleratedDuplicates.Should().Be(1);
    }

    [Fact]
    public void A_receipt_from_a_consume_sent_after_the_messages_delete_was_answered_200_is_counted_whatever_the_timing()
    {
        // Both first claims may be 2 s old, past the 1 s timeout: only the delete's answer tells them apart.
        var ledger = new Ledger(_visibility, 64);
        var (kept, inFlight) = (Body.Create("run", 1, 64), Body.Create("run", 2, 64));
        ledger.Receive(1, kept, "run", Stopwatch.GetTimestamp() - (2 * Stopwatch.Frequency), out _);
        ledger.Receive(2, inFlight, "run", Stopwatch.GetTimestamp() - (2 * Stopwatch.Frequency), out _);
        // A long poll sent before message 2's delete was answered may have claimed it first, its reservation run out.
        var longPollSent = Stopwatch.GetTimestamp();

        ledger.Deleted(1, Stopwatch.GetTimestamp()).Should().BeTrue();
        ledger.Deleted(2, Stopwatch.GetTimestamp()).Should().BeTrue();
        ledger.Receive(1, kept, "run", Stopwatch.GetTimestamp(), out _);
        ledger.Receive(2, inFlight, "run", longPollSent, out _);

        ledger.ReceivedAfterDelete.Should().Be(1, "the server answered the delete 200 and delivered the message again");
        (ledger.Duplicates, ledger.ToleratedDuplicates).Should().Be((0, 1));
        ledger.Deleted(1, Stopwatch.GetTimestamp()).Should().BeFalse("a second 200 for a message is not another message delivered");
    }

    [Fact]
    public void A_repeat_receipt_is_compared_with_the_latest_receipt_before_it_not_the_first()
    {
        // The first claim may be 2 s old: a redelivery now is the queue at work, and one more at once is a duplicate.
        var ledger = new Ledger(_visibility, 64);
        var body = Body.Create("run", 1, 64);

        ledger.Receive(1, body, "run", Stopwatch.GetTimestamp() - (2 * Stopwatch.Frequency), out _);
        ledger.Receive(1, body, "run", Stopwatch.GetTimestamp(), out _);
        ledger.Receive(1, body, "run", Stopwatch.GetTimestamp(), out _);

        (ledger.Duplicates, ledger.ToleratedDuplicates).Should().Be((1, 1));
    }

    [Fact]
    public async Task A_message_delivered_again_after_its_delete_was_answered_200_fails_the_run_and_the_drain_still_takes_every_message()
    {
        // The reviewer's run: the first delete of each of the first 20 messages is answered 200 and the message kept, to
        // be delivered again a second later, past the 1 s visibility timeout, while the consumers (a consume takes at
        // least 10 ms) are still behind. Each kept message's second 200 counted as one more message deleted, so the
        // drain stopped with 20 never received (95 in the reviewer's run), and the run passed.
        await using var server = await OriginalDialectServer.StartAsync(countsQueues: true, keepFirstDeleted: 20, consumeDelay: TimeSpan.FromMilliseconds(10));
        var output = new StringWriter();

        var exitCode = await Session.RunAsync(
            LoadOptions.Parse(["cycle", "--messages", "300", "--producers", "1", "--consumers", "2", "--batch", "1", "--visibility-timeout", "1", "--url", server.Url.ToString(), "--json", "--quiet"]),
            output,
            TextWriter.Null);

        exitCode.Should().Be(1, output.ToString());
        using var json = JsonDocument.Parse(output.ToString());
        var verification = json.RootElement.GetProperty("verification");
        (verification.GetProperty("received").GetInt64(), verification.GetProperty("unreceived_still_queued").GetInt64()).Should().Be((300, 0));
        verification.GetProperty("received_after_delete").GetInt64().Should().Be(20);
        (verification.GetProperty("duplicates").GetInt64(), verification.GetProperty("extra_in_queue").GetInt64()).Should().Be((0, 0));
        json.RootElement.GetProperty("failures").EnumerateArray().Select(f => f.GetString())
            .Should().Equal("messages delivered again after their delete was answered 200: 20");
    }

    [Fact]
    public void A_refused_delete_is_an_error_unless_its_message_was_redelivered()
    {
        var ledger = new Ledger(_visibility, 64);
        var errors = new Errors();
        var redelivered = Body.Create("run", 1, 64);
        var once = Body.Create("run", 2, 64);
        ledger.Receive(1, redelivered, "run", Stopwatch.GetTimestamp() - (2 * Stopwatch.Frequency), out _);
        ledger.Receive(1, redelivered, "run", Stopwatch.GetTimestamp(), out var first);
        ledger.Receive(2, once, "run", Stopwatch.GetTimestamp(), out _);

        ledger.AcknowledgementRefused(1, 409);
        ledger.AcknowledgementRefused(2, 404);
        var superseded = ledger.SettleRefusedAcknowledgements(errors);

        first.Should().BeFalse();
        superseded.Should().Be(1, "the first consumer's token ran out with its reservation");
        errors.Snapshot().Should().Equal(new Dictionary<string, long> { ["DELETE /messages 404"] = 1 });
    }

    [Fact]
    public void Under_a_visibility_timeout_of_0_a_refused_delete_of_a_message_received_once_is_not_an_error()
    {
        // Its reservation ran out as it was made: a long poll the run gave up on may have claimed it since.
        var ledger = new Ledger(TimeSpan.Zero, 64);
        var errors = new Errors();
        ledger.Receive(1, Body.Create("run", 1, 64), "run", Stopwatch.GetTimestamp(), out _);

        ledger.AcknowledgementRefused(1, 409);
        ledger.AcknowledgementRefused(null, 409);
        var superseded = ledger.SettleRefusedAcknowledgements(errors);

        superseded.Should().Be(2);
        errors.Snapshot().Should().BeEmpty();
    }

    [Fact]
    public void A_body_of_another_run_is_counted_as_foreign_not_received()
    {
        var ledger = new Ledger(_visibility, 64);

        ledger.Receive(1, Body.Create("other", 1, 64), "run", Stopwatch.GetTimestamp(), out _).Should().BeNull();

        (ledger.Foreign, ledger.Received).Should().Be((1, 0));
    }

    [Theory]
    [InlineData(63, 'x')]
    [InlineData(65, 'x')]
    [InlineData(64, ':')]
    [InlineData(64, 'y')]
    public void A_body_that_comes_back_cut_grown_or_altered_is_counted_as_corrupted(int length, char last)
    {
        var ledger = new Ledger(_visibility, 64);
        var sent = Body.Create("run", 1, 64);
        var changed = (sent + "x")[..(length - 1)] + last;

        ledger.Receive(1, changed, "run", Stopwatch.GetTimestamp(), out _).Should().Be(1);
        ledger.Receive(2, Body.Create("run", 2, 64), "run", Stopwatch.GetTimestamp(), out _);

        ledger.Corrupted.Should().Be(1);
    }

    [Fact]
    public void A_message_received_under_an_id_other_than_its_send_was_answered_with_is_counted()
    {
        var ledger = new Ledger(_visibility, 64);
        ledger.Acknowledged(1, id: 10);
        ledger.Acknowledged(2, id: 20);

        ledger.Receive(10, Body.Create("run", 1, 64), "run", Stopwatch.GetTimestamp(), out _);
        ledger.Receive(21, Body.Create("run", 2, 64), "run", Stopwatch.GetTimestamp(), out _);

        ledger.ReceivedUnderAnotherId.Should().Be(1);
    }
}
