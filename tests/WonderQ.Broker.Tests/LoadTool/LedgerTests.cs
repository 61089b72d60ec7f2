using System.Diagnostics;
using WonderQ.LoadTest;

namespace WonderQ.Broker.Tests.LoadTool;

/// <summary>
/// A message received twice is a duplicate only when both claims certainly fell inside one visibility timeout; each
/// claim is known only to lie between its consume's sending and its answer.
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
