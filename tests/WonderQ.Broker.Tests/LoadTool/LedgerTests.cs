using System.Diagnostics;
using System.Globalization;
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

    [Theory]
    [InlineData(0, 3, 1, 0)]
    // The first consume was sent 2 s ago and answered only now: its claim may be 2 s old, past the 1 s timeout.
    [InlineData(2, 3, 0, 1)]
    // But not older than the message: a long poll that waited 2 s for a message sent just now claimed it just now.
    [InlineData(2, 0, 1, 0)]
    public void A_second_receipt_is_a_duplicate_when_the_first_consume_was_sent_moments_before_and_tolerated_when_sent_longer_ago_than_the_timeout(
        int firstSentSecondsAgo, int messageSentSecondsAgo, int duplicates, int tolerated)
    {
        var ledger = new Ledger(_visibility, 64);
        var body = SentSecondsAgo(1, messageSentSecondsAgo);

        ledger.Receive(1, body, "run", Stopwatch.GetTimestamp() - (firstSentSecondsAgo * Stopwatch.Frequency), out _);
        ledger.Receive(1, body, "run", Stopwatch.GetTimestamp(), out _);

        ledger.Duplicates.Should().Be(duplicates);
        ledger.ToleratedDuplicates.Should().Be(tolerated);
    }

    [Fact]
    public void A_receipt_from_a_consume_sent_after_the_messages_delete_was_answered_200_is_counted_whatever_the_timing()
    {
        // Both first claims may be 2 s old, past the 1 s timeout: only the delete's answer tells them apart.
        var ledger = new Ledger(_visibility, 64);
        var (kept, inFlight) = (SentSecondsAgo(1, 3), SentSecondsAgo(2, 3));
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
        var body = SentSecondsAgo(1, 3);

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

    [Theory]
    [InlineData("consume")]
    [InlineData("cycle")]
    public async Task Messages_lost_by_a_server_that_still_counts_them_fail_the_run_once_a_drain_after_it_cannot_find_them(string scenario)
    {
        // The reviewer's run: every 20th message is acknowledged and never stored, but still counted in queue_size. Its
        // consumers wait out the run's time for them, and the count alone took them for still queued: a pass.
        await using var server = await OriginalDialectServer.StartAsync(countsQueues: true, loseEvery: 20, countsLost: true);
        var output = new StringWriter();
        string[] shape = scenario == "consume" ? ["--consumers", "2", "--fill-concurrency", "4"] : ["--producers", "1", "--consumers", "2"];

        var exitCode = await Session.RunAsync(
            LoadOptions.Parse([scenario, "--messages", "200", .. shape, "--duration", "2", "--url", server.Url.ToString(), "--json", "--quiet"]),
            output,
            TextWriter.Null);

        exitCode.Should().Be(1, output.ToString());
        using var json = JsonDocument.Parse(output.ToString());
        var verification = json.RootElement.GetProperty("verification");
        var lost = verification.GetProperty("lost").GetInt64();
        lost.Should().BeGreaterThan(0).And.Be(verification.GetProperty("acknowledged").GetInt64() / 20, output.ToString());
        verification.GetProperty("unreceived_still_queued").GetInt64().Should().Be(0);
    }

    [Fact]
    public void A_refused_delete_is_an_error_unless_its_message_was_redelivered()
    {
        var ledger = new Ledger(_visibility, 64);
        var errors = new Errors();
        var redelivered = Body.Stamped("run", 1, 64).ToString();
        var once = Body.Stamped("run", 2, 64).ToString();
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
        ledger.Receive(1, Body.Stamped("run", 1, 64).ToString(), "run", Stopwatch.GetTimestamp(), out _);

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

        ledger.Receive(1, Body.Stamped("other", 1, 64).ToString(), "run", Stopwatch.GetTimestamp(), out _).Should().BeNull();

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
        var sent = Body.Stamped("run", 1, 64).ToString();
        var changed = (sent + "x")[..(length - 1)] + last;

        ledger.Receive(1, changed, "run", Stopwatch.GetTimestamp(), out _).Should().Be(1);
        ledger.Receive(2, Body.Stamped("run", 2, 64).ToString(), "run", Stopwatch.GetTimestamp(), out _);

        ledger.Corrupted.Should().Be(1);
    }

    [Fact]
    public void A_message_received_under_an_id_other_than_its_send_was_answered_with_is_counted()
    {
        var ledger = new Ledger(_visibility, 64);
        ledger.Acknowledged(1, id: 10);
        ledger.Acknowledged(2, id: 20);

        ledger.Receive(10, Body.Stamped("run", 1, 64).ToString(), "run", Stopwatch.GetTimestamp(), out _);
        ledger.Receive(21, Body.Stamped("run", 2, 64).ToString(), "run", Stopwatch.GetTimestamp(), out _);

        ledger.ReceivedUnderAnotherId.Should().Be(1);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("2147483649")]
    public void A_body_with_the_runs_tag_and_a_sequence_number_the_run_cannot_have_sent_is_counted_as_corrupted_and_as_nobodys(string seq)
    {
        var ledger = new Ledger(_visibility, 64);
        var altered = Body.Stamped("run", 1, 64).ToString().Replace("run:1:", $"run:{seq}:", StringComparison.Ordinal);

        var received = ledger.Receive(1, altered, "run", Stopwatch.GetTimestamp(), out var first);

        received.Should().Be(long.Parse(seq, CultureInfo.InvariantCulture), "the run's to delete, not another run's to count as such");
        (first, ledger.Corrupted, ledger.Received, ledger.Foreign).Should().Be((false, 1, 0, 0));
        ledger.Deleted(received!.Value, Stopwatch.GetTimestamp()).Should().BeFalse("no message of the run was deleted");
    }

    [Fact]
    public void The_last_sequence_number_the_ledger_holds_is_a_message_like_the_first()
    {
        var ledger = new Ledger(_visibility, 64);

        ledger.Receive(1, Body.Stamped("run", Ledger.MaxSeq, 64).ToString(), "run", Stopwatch.GetTimestamp(), out var first).Should().Be(Ledger.MaxSeq);

        (first, ledger.Received, ledger.Corrupted).Should().Be((true, 1, 0));
        ledger.Deleted(Ledger.MaxSeq, Stopwatch.GetTimestamp()).Should().BeTrue();
    }

    [Fact]
    public async Task Messages_acknowledged_received_and_deleted_from_several_threads_at_once_are_each_counted_once()
    {
        // Arrange: 150,000 messages, past two of the ledger's blocks of 65,536, every tenth never received. The
        // visibility timeout is an hour, so no repeat passes as a redelivery.
        const int count = 150_000;
        const int threads = 4;
        const int received = count - (count / 10);
        var ledger = new Ledger(TimeSpan.FromHours(1), 64);
        var bodies = Enumerable.Range(1, count).Select(seq => Body.Stamped("run", seq, 64).ToString()).ToArray();
        var firstReceipts = new int[threads];
        var firstDeletes = new int[threads];
        using var start = new Barrier(threads);

        // Act: every thread receives every message and then deletes it, all released at once, and each acknowledges
        // a share of the sends meanwhile, as answers come back in any order.
        await Task.WhenAll(Enumerable.Range(0, threads).Select(thread => Task.Factory.StartNew(
            () =>
            {
                start.SignalAndWait();
                for (var seq = 1; seq <= count; seq++)
                {
                    if (seq % threads == thread)
                    {
                        ledger.Acknowledged(seq, id: 1_000_000 + seq);
                    }

                    if (seq % 10 != 0)
                    {
                        ledger.Receive(1_000_000 + seq, bodies[seq - 1], "run", Stopwatch.GetTimestamp(), out var first);
                        firstReceipts[thread] += first ? 1 : 0;
                    }
                }

                for (var seq = 1; seq <= count; seq++)
                {
                    if (seq % 10 != 0 && ledger.Deleted(seq, Stopwatch.GetTimestamp()))
                    {
                        firstDeletes[thread]++;
                    }
                }
            },
            TaskCreationOptions.LongRunning)));

        // Assert
        (firstReceipts.Sum(), firstDeletes.Sum(), ledger.Received).Should().Be((received, received, received));
        (ledger.Duplicates + ledger.ReceivedAfterDelete).Should().Be((threads - 1) * received);
        (ledger.Sent, ledger.DistinctIds, ledger.Unreceived).Should().Be((count, count, count / 10));
        (ledger.ToleratedDuplicates, ledger.ReceivedUnacknowledged, ledger.ReceivedUnderAnotherId).Should().Be((0, 0, 0));
        ledger.Deleted(count, Stopwatch.GetTimestamp()).Should().BeTrue("its entry is its own: the deletes of its neighbours left it alone");
    }

    [Fact]
    public async Task Six_threads_racing_for_the_same_few_messages_in_many_fresh_ledgers_claim_each_first_receipt_once()
    {
        // Arrange: races are likeliest on a fresh ledger (its first block made by whichever thread comes first) and on
        // one entry at a time, so 1,000 ledgers of 64 messages, with six threads released together on each.
        const int rounds = 1_000;
        const int messages = 64;
        const int threads = 6;
        var bodies = Enumerable.Range(1, messages).Select(seq => Body.Stamped("run", seq, 64).ToString()).ToArray();
        var ledgers = Enumerable.Range(0, rounds).Select(_ => new Ledger(TimeSpan.FromHours(1), 64)).ToArray();
        var firstReceipts = new int[rounds, threads];
        using var start = new Barrier(threads);

        // Act
        await Task.WhenAll(Enumerable.Range(0, threads).Select(thread => Task.Factory.StartNew(
            () =>
            {
                for (var round = 0; round < rounds; round++)
                {
                    start.SignalAndWait();
                    for (var seq = 1; seq <= messages; seq++)
                    {
                        ledgers[round].Receive(seq, bodies[seq - 1], "run", Stopwatch.GetTimestamp(), out var first);
                        firstReceipts[round, thread] += first ? 1 : 0;
                    }

                    for (var seq = 1; seq <= messages; seq++)
                    {
                        ledgers[round].Acknowledged(seq, id: seq);
                    }
                }
            },
            TaskCreationOptions.LongRunning)));

        // Assert
        for (var round = 0; round < rounds; round++)
        {
            var ledger = ledgers[round];
            Enumerable.Range(0, threads).Sum(thread => firstReceipts[round, thread]).Should().Be(messages, $"round {round}");
            (ledger.Sent, ledger.Received, ledger.Duplicates).Should().Be((messages, messages, (threads - 1) * messages), $"round {round}");
        }
    }

    [Theory]
    [InlineData(48)]
    [InlineData(1024)]
    [InlineData(4096)]
    [InlineData(4097)]
    [InlineData(256 * 1024)]
    public void A_body_written_into_a_request_is_the_text_it_stands_for_padded_to_its_size(int bytes)
    {
        var body = Body.Stamped("4f2a", 123_456_789_012, bytes);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            body.WriteTo(json, "body"u8);
            json.WriteEndObject();
        }

        var written = JsonDocument.Parse(buffer.ToArray()).RootElement.GetProperty("body").GetString()!;

        written.Should().Be(body.ToString()).And.HaveLength(bytes).And.StartWith("wq:4f2a:123456789012:").And.EndWith("x");
        Body.TryParse(written, "4f2a", out var seq, out var sentAt).Should().BeTrue();
        (seq, sentAt).Should().Be((123_456_789_012, body.SentAt));
        Body.IsIntact(written, bytes).Should().BeTrue();
    }

    [Fact]
    public void A_body_asked_for_shorter_than_its_head_is_its_head_alone()
    {
        var body = Body.Stamped("4f2a", 7, 10).ToString();

        body.Should().MatchRegex("^wq:4f2a:7:[0-9]+:$");
        Body.IsIntact(body, 10).Should().BeTrue();
    }

    [Fact]
    public void A_run_tag_that_is_not_ascii_is_refused_rather_than_padded_in_bytes_and_counted_in_characters()
    {
        var act = () => Body.Stamped("r\u00e9", 1, 64).ToString();

        act.Should().Throw<InvalidOperationException>().WithMessage("*ASCII*");
    }

    /// <summary>The run's message <paramref name="seq"/>, as sent <paramref name="seconds"/> ago: no consume can have claimed it before that.</summary>
    private static string SentSecondsAgo(long seq, int seconds) =>
        new Body("run", seq, Stopwatch.GetTimestamp() - (seconds * Stopwatch.Frequency), 64).ToString();
}
