using System.Diagnostics;
using System.Globalization;

namespace WonderQ.LoadTest;

/// <summary>The scenarios. Each measures, then fills in a <see cref="RunResult"/>.</summary>
internal static class Scenarios
{
    /// <summary>
    /// Opens the run's queue and returns what it holds; a <c>--no-fill</c> drain of a queue that does not exist or holds
    /// nothing is refused here (<see cref="SetupException"/>).
    /// </summary>
    public static async Task<long?> OpenQueueAsync(Run run)
    {
        var ct = run.Hard.Token;
        long? before;
        try
        {
            using var setupProgress = SetupProgress(run, "setup");
            await run.OpenQueueAsync(ct);
            before = await run.Client.QueueSizeAsync(run.Queue.Id, ct);
        }
        catch (OperationCanceledException) when (run.Hard.IsCancellationRequested)
        {
            throw new SetupException(StoppedAnswering(run));
        }

        if (run.Options.NoFill && before == 0)
        {
            // Nothing to drain: the run would wait out --duration on empty polls and call 0 msgs/s a pass, as the
            // refusal of --no-fill without --queue says of the run's own queue.
            throw new SetupException($"--no-fill drains what the queue '{run.Queue.Name}' holds, and it holds no messages: fill it first, or leave out --no-fill.");
        }

        return before;
    }

    public static async Task<RunResult> RunAsync(Run run)
    {
        var o = run.Options;
        var before = await OpenQueueAsync(run);
        var rssBefore = Rss.ReadKiB(o.BrokerPid);
        run.StartCpu();
        double? load = File.Exists("/proc/loadavg")
            ? double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture)
            : null;
        RunResult result;
        try
        {
            result = o.Scenario switch
            {
                "produce" => await ProduceAsync(run),
                "consume" => await ConsumeAsync(run),
                "cycle" => await CycleAsync(run),
                "latency" => await LatencyAsync(run),
                "idle-waiters" => await IdleWaitersAsync(run),
                "burst" => await BurstAsync(run),
                _ => throw new InvalidOperationException(o.Scenario),
            };

            // A consumer whose long poll the server never answered gives up at the hard limit without an error of its
            // own: the run ends as one whose requests the server stopped answering, not as a pass with its messages
            // still queued.
            run.Hard.Token.ThrowIfCancellationRequested();
        }
        catch (Exception ex) when (ex is SetupException or HttpRequestException or OperationCanceledException)
        {
            // No figures to report, but the queue is not left behind (a server that stopped answering will not
            // delete it either, and that is said too). Past the hard limit or Ctrl-C's grace it gets a few seconds,
            // not another minute: the bound the README gives is the duration and a minute more.
            var stopped = ex is OperationCanceledException && run.Hard.IsCancellationRequested;
            var why = stopped ? StoppedAnswering(run) : ex.Message;
            try
            {
                await run.CloseQueueAsync(run.Hard.IsCancellationRequested ? TimeSpan.FromSeconds(5) : null);
            }
            catch (Exception closing) when (closing is SetupException or HttpRequestException or OperationCanceledException)
            {
                throw new SetupException($"{why} The queue '{run.Queue.Name}' could not be deleted: {closing.Message.Split('\n')[0].Trim()}");
            }

            if (stopped)
            {
                throw new SetupException(why);
            }

            throw;
        }

        var (brokerCpuUsed, ownCpuUsed) = run.CpuUsed(reportWhatCameAfterAs: "release");
        var perMessage = Math.Max(1, result.Operations.Count > 0 ? Math.Max(run.Delivered, run.Ledger.Sent - run.SentBeforeCpu) : 1);
        result.Extra["loadavg_1m_at_start"] = load;
        result.Extra["loadgen_cpu_s"] = Math.Round(ownCpuUsed.TotalSeconds, 2);
        result.Extra["loadgen_cpu_us_per_msg"] = Math.Round(ownCpuUsed.TotalMicroseconds / perMessage, 1);
        if (brokerCpuUsed is { } used)
        {
            result.Extra["broker_cpu_s"] = Math.Round(used.TotalSeconds, 2);
            result.Extra["broker_cpu_us_per_msg"] = Math.Round(used.TotalMicroseconds / perMessage, 1);
        }

        // Verification: compare what was acknowledged and received with what the queue still holds.
        var ledger = run.Ledger;
        var receivedInRun = ledger.Received;
        (long Found, bool Emptied)? drain = result.ChecksDelivery && run.OwnsQueue && ledger.Unreceived > 0 && !run.Interrupted
            ? await DrainUnreceivedAsync(run)
            : null;
        long? after;
        long? inFlightAfter = null;
        try
        {
            // Bounded on its own: after a Ctrl-C the run's hard limit may already have run out.
            using var counting = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            using var countProgress = SetupProgress(run, "after the run");
            var counts = await run.Client.QueueCountsAsync(run.Queue.Id, counting.Token);
            after = counts?.QueueSize;
            inFlightAfter = counts?.InFlightSize;
        }
        catch (Exception ex) when (ex is SetupException or HttpRequestException or OperationCanceledException)
        {
            // A server that died during the run: its figures still stand, but what it held cannot be counted.
            after = null;
            run.Notes.Add($"the queue could not be counted after the run: {ex.Message.Split('\n')[0].Trim()}");
        }

        var superseded = ledger.SettleRefusedAcknowledgements(run.Client.Errors);
        if (superseded > 0)
        {
            result.Verification["acknowledgements_refused_after_redelivery"] = superseded;
        }

        // (Negative for a --no-fill drain, which received what it did not send: the count below takes that off.)
        var unaccounted = result.ChecksDelivery ? ledger.Unreceived : ledger.Sent - run.Delivered;
        long lost = 0;
        long extra = 0;
        if (before is null || after is null)
        {
            // No GET /queues: what was acknowledged and never received may be queued or lost, and the run cannot tell.
            result.Verification["unreceived_unverifiable"] = Math.Max(0, unaccounted);
            result.Unverified = Math.Max(0, unaccounted);
        }
        else if (result.ChecksDelivery)
        {
            // Acknowledged but never received must still be in the queue (in flight or not), beside what the queue held
            // before the run and the consumers did not take: that is not this run's to count. After a drain that
            // emptied the queue of what it could hand out, only in flight: a server whose count goes on counting what
            // it lost is not taken at its word.
            var ours = Math.Max(0, after.Value - Math.Max(0, before.Value - ledger.ForeignDeleted));
            var room = drain is { Emptied: true } && inFlightAfter is { } inFlight ? Math.Min(ours, inFlight) : ours;
            lost = Math.Max(0, unaccounted - room);
            result.Verification["unreceived_still_queued"] = Math.Min(unaccounted, room);
            if (run.Client.Errors.Total == 0)
            {
                // Every receipt was deleted with a 200, or refused as claimed again since: a message the queue holds
                // beyond the unreceived ones is one the server said it deleted and kept (or stored twice). A refused one
                // may rightly still be there, claimed by a consume whose answer the run never read (a long poll it
                // gave up on at its end), so each refusal allows for one.
                extra = Math.Max(0, ours - unaccounted - superseded);
                result.Verification["extra_in_queue"] = extra;
            }
        }
        else
        {
            // Produce-only: every acknowledged send must have added a message, and only one. A failed send may have
            // added one too, and such a run fails on its errors anyway.
            lost = Math.Max(0, before.Value + unaccounted - after.Value);
            if (run.Client.Errors.Total == 0)
            {
                extra = Math.Max(0, after.Value - before.Value - unaccounted);
                result.Verification["extra_in_queue"] = extra;
            }
        }

        result.Verification["acknowledged"] = ledger.Sent;
        result.Verification["distinct_ids"] = ledger.DistinctIds;
        result.Verification["received"] = receivedInRun;
        if (drain is { } drained)
        {
            result.Verification["unreceived_found_after_the_run"] = drained.Found;
            if (!drained.Emptied)
            {
                result.Verification["unreceived_checked_by_count_only"] = ledger.Unreceived;
            }
        }

        result.Verification["received_unacknowledged"] = ledger.ReceivedUnacknowledged;
        result.Verification["duplicates"] = ledger.Duplicates;
        result.Verification["tolerated_duplicates_after_expiry"] = ledger.ToleratedDuplicates;
        result.Verification["received_after_delete"] = ledger.ReceivedAfterDelete;
        result.Verification["foreign_received"] = ledger.Foreign;
        result.Verification["foreign_deleted"] = ledger.ForeignDeleted;
        result.Verification["corrupted"] = ledger.Corrupted;
        var anotherId = ledger.ReceivedUnderAnotherId;
        result.Verification["received_under_another_id"] = anotherId;
        if (before is not null && after is not null)
        {
            result.Verification["queue_size_before"] = before.Value;
            result.Verification["queue_size_after"] = after.Value;
        }

        result.Verification["lost"] = lost;
        // A message whose body came back changed, or under an id its send was not answered with, is lost as surely
        // as one that never came back: a consumer could not act on it.
        result.Lost = lost + (ledger.Sent - ledger.DistinctIds) + ledger.Corrupted + anotherId;
        result.Duplicates = ledger.Duplicates + ledger.ReceivedAfterDelete + extra;
        result.RssKiB["before"] = rssBefore;
        result.RssKiB["after"] = Rss.ReadKiB(o.BrokerPid);
        result.Errors = run.Client.Errors.Snapshot();
        result.Queue = run.Queue.Name;
        result.Interrupted = run.Interrupted;
        result.InterruptedBeforeMeasuring = run.InterruptedBeforeMeasuring;
        result.Notes.AddRange(run.Notes);
        foreach (var (k, v) in run.Extra)
        {
            result.Extra[k] = v;
        }

        try
        {
            using var closeProgress = SetupProgress(run, "after the run");
            await run.CloseQueueAsync();
        }
        catch (Exception ex) when (ex is SetupException or HttpRequestException or OperationCanceledException)
        {
            // The figures are in: a server that fails to delete the queue (the original WonderQ answers 500) keeps it.
            result.Extra["queue_not_deleted"] = ex.Message.Split('\n')[0].Trim();
        }

        return result;
    }

    /// <summary>
    /// After a <c>consume</c> or <c>cycle</c> that left messages unreceived (its time ran out first), takes what the
    /// run's own queue can still hand out, outside the figures, for as long as the run (2 to 10 s): each of them must be one the run sent
    /// and never received (it goes into the ledger as received, and one deleted before as received after its delete),
    /// and what the queue cannot hand out can only be in flight. Counted alone, a server that lost messages and still
    /// counted them, or lost some and kept as many it said it deleted, passed. Emptied: the queue answered that it had
    /// nothing more to hand out.
    /// </summary>
    private static async Task<(long Found, bool Emptied)> DrainUnreceivedAsync(Run run)
    {
        var o = run.Options;
        var unreceived = run.Ledger.Unreceived;
        var received = run.Ledger.Received;
        var consume = new Recorder("consume (verification)");
        var delete = new Recorder("delete (verification)");
        // Counted down as they are found, not counted again each round: the ledger counts by walking every message.
        var left = () => unreceived - (run.Ledger.Received - received);
        // As long as the run, within 2 to 10 s: a drain of a large backlog left is no part of what was asked for.
        using var within = new CancellationTokenSource(TimeSpan.FromTicks(Math.Clamp(o.Duration.Ticks, TimeSpan.TicksPerSecond * 2, TimeSpan.TicksPerSecond * 10)));
        using var progress = Progress.Start(run, () => $"after the run: looking for {left()} unreceived messages", Stopwatch.StartNew());
        // Reserved long enough not to come round again while the drain goes on, whatever the run's own timeout (0 says
        // the delete comes too late to count).
        var visibilityTimeout = Math.Max(o.VisibilityTimeout, 30);
        try
        {
            while (left() > 0 && !run.Interrupted)
            {
                var askedAt = Stopwatch.GetTimestamp();
                var messages = await run.Client.ConsumeAsync(run.Queue.Id, o.Batch, 0, visibilityTimeout, consume, within.Token);
                if (messages is null)
                {
                    // Failed (counted as an error) or out of time: what is left is checked by the count alone.
                    break;
                }

                if (messages.Length == 0)
                {
                    return (run.Ledger.Received - received, true);
                }

                await Task.WhenAll(messages.Select(async message =>
                {
                    var seq = run.Ledger.Receive(message.Id, message.Body, run.Tag, askedAt, out _);
                    if (await run.Client.DeleteAsync(message, delete, within.Token) == 200 && seq is { } s)
                    {
                        run.Ledger.Deleted(s, Stopwatch.GetTimestamp());
                    }
                }));
            }
        }
        catch (OperationCanceledException)
        {
        }

        // Cut short (out of time, or a failure counted as the run's error): what it did not reach is checked by the count alone.
        return (run.Ledger.Received - received, left() == 0);
    }

    /// <summary>Progress while a setup call (the queue, its count) waits for its answer: a hung server says nothing else.</summary>
    private static Progress? SetupProgress(Run run, string phase) => Progress.Start(
        run,
        () => $"{phase}: waiting for the answer to {run.Client.SetupWaiting ?? "the server"}",
        Stopwatch.StartNew());

    private static string StoppedAnswering(Run run) => run.Interrupted
        ? $"stopped by Ctrl-C with requests still unanswered {Run.InterruptGrace.TotalSeconds:0} s later; the server may have stopped answering."
        : $"requests were still unanswered when the run's hard limit ran out ({run.HardLimit.TotalSeconds:0} s from its start, setup included: --duration and a minute more); the server stopped answering, or its setup took that long.";

    private static async Task<RunResult> ProduceAsync(Run run)
    {
        var o = run.Options;
        var send = new Recorder("send");
        run.StartClock();
        using var progress = Progress.Start(run, () => $"sent {send.Count}");
        await run.ProduceAsync(o.Producers, send, run.Hard.Token);
        var elapsed = run.Elapsed;
        return new RunResult(o, elapsed, send.Count / elapsed.TotalSeconds, "acknowledged sends", [send.Summarize(elapsed)])
        {
            ChecksDelivery = false,
            Parameters = { ["producers"] = o.Producers, ["body_bytes"] = o.BodyBytes },
        };
    }

    private static async Task<RunResult> ConsumeAsync(Run run)
    {
        var o = run.Options;
        var ct = run.Hard.Token;
        var fill = new Recorder("send (pre-fill)");
        long target = o.Messages;
        if (!o.NoFill)
        {
            // The pre-fill is bounded by its own count and by the run's preparation limit, not by --duration: past
            // it, no send is started, and a fill cut short is refused below rather than measured.
            var fillTimer = Stopwatch.StartNew();
            var fillStarted = run.SinceStart;
            var left = o.Messages;
            using (Progress.Start(run, () => $"pre-fill: sent {fill.Count}/{o.Messages}", fillTimer))
            {
                await Task.WhenAll(Enumerable.Range(0, o.FillConcurrency).Select(_ => Task.Run(
                    async () =>
                    {
                        while (!ct.IsCancellationRequested && !run.Interrupted && !run.PastPreparationLimit && Interlocked.Decrement(ref left) >= 0)
                        {
                            await run.SendOneAsync(run.Ledger.NextSeq(), fill, ct);
                        }
                    },
                    CancellationToken.None)));
            }

            if (Interlocked.Read(ref left) > 0 && !run.Interrupted && !ct.IsCancellationRequested)
            {
                // Every send was answered, only not all of them in time: the server did not stop answering.
                throw new SetupException(string.Create(
                    CultureInfo.InvariantCulture,
                    $"pre-fill did not finish: sent {run.Ledger.Sent:N0} of {o.Messages:N0} in {(run.SinceStart - fillStarted).TotalSeconds:0.#} s. A pre-fill must be done {Run.PreparationLimit.TotalSeconds:0} s after the run's start, so that the measured phase keeps its --duration within the run's bound (--duration and a minute more): ask for fewer --messages or a higher --fill-concurrency, or fill a --queue NAME once and drain it with --no-fill."));
            }

            target = run.Ledger.Sent;
            run.StartCpu(reportWhatWentBeforeAs: "fill");
            run.Extra["fill_seconds"] = Math.Round(fillTimer.Elapsed.TotalSeconds, 3);
            run.Extra["fill_msgs_per_s"] = Math.Round(target / fillTimer.Elapsed.TotalSeconds, 1);
        }
        else
        {
            run.LimitReceives(target);
        }

        var consume = new Recorder("consume");
        var delete = new Recorder("delete");
        run.Target = target;
        run.StartClock();
        using (Progress.Start(run, () => $"deleted {run.Delivered}/{target}"))
        {
            await Task.WhenAll(Enumerable.Range(0, o.Consumers).Select(_ => Task.Run(
                () => run.ConsumeLoopAsync(o.Batch, o.WaitTime, consume, delete, null, () => run.Delivered >= target || run.PastDeadline, ct),
                CancellationToken.None)));
        }

        // A --no-fill drain of a queue holding fewer than --messages ends at its last delete, not after the empty polls
        // that follow it until --duration.
        var elapsed = run.FinishedAt ?? run.LastDeliveryAt ?? run.Elapsed;
        return new RunResult(o, elapsed, run.Delivered / elapsed.TotalSeconds, "messages received and deleted",
            [fill.Summarize(TimeSpan.FromSeconds((double)(run.Extra.GetValueOrDefault("fill_seconds") ?? 1.0))), consume.Summarize(elapsed), delete.Summarize(elapsed)])
        {
            ChecksDelivery = !o.NoFill,
            Parameters = { ["consumers"] = o.Consumers, ["batch"] = o.Batch, ["body_bytes"] = o.BodyBytes, ["wait_time"] = o.WaitTime },
        };
    }

    private static async Task<RunResult> CycleAsync(Run run)
    {
        var o = run.Options;
        var ct = run.Hard.Token;
        var send = new Recorder("send");
        var consume = new Recorder("consume");
        var delete = new Recorder("delete");
        var endToEnd = new Recorder("publish->receive");
        var producing = true;
        // After the producers stop, consumers drain what was acknowledged, for at most 10 s more.
        var drainLimit = TimeSpan.FromSeconds(Math.Min(10, o.DurationSeconds));
        var producersDone = TimeSpan.MaxValue;
        bool Done() => !Volatile.Read(ref producing)
            && (run.Delivered >= run.Ledger.Sent || run.Elapsed - producersDone > drainLimit || run.Interrupted);
        run.StartClock();
        using (Progress.Start(run, () => $"sent {send.Count} deleted {run.Delivered}"))
        {
            var consumers = Enumerable.Range(0, o.Consumers).Select(_ => Task.Run(
                () => run.ConsumeLoopAsync(o.Batch, o.WaitTime, consume, delete, endToEnd, Done, ct),
                CancellationToken.None)).ToList();
            await run.ProduceAsync(o.Producers, send, ct);
            producersDone = run.Elapsed;
            Volatile.Write(ref producing, false);
            await Task.WhenAll(consumers);
        }

        // Until the last delete, not the consumers' last empty long poll: that wait would count as a second of no work.
        var elapsed = run.LastDeliveryAt is { } last && last > producersDone ? last : producersDone;
        run.Extra["producing_seconds"] = Math.Round(producersDone.TotalSeconds, 3);
        run.Extra["send_msgs_per_s"] = Math.Round(send.Count / producersDone.TotalSeconds, 1);
        return new RunResult(o, elapsed, run.Delivered / elapsed.TotalSeconds, "messages sent, received and deleted",
            [send.Summarize(producersDone), consume.Summarize(elapsed), delete.Summarize(elapsed), endToEnd.Summarize(elapsed)])
        {
            ChecksDelivery = true,
            Parameters = { ["producers"] = o.Producers, ["consumers"] = o.Consumers, ["batch"] = o.Batch, ["body_bytes"] = o.BodyBytes, ["wait_time"] = o.WaitTime },
        };
    }

    private static async Task<RunResult> LatencyAsync(Run run)
    {
        var o = run.Options;
        var endToEnd = new Recorder("publish->receive");
        var send = new Recorder("send");
        var consume = new Recorder("consume (long poll)");
        var delete = new Recorder("delete");
        run.StartClock();
        using var progress = Progress.Start(run, () => $"sent {send.Count} received {endToEnd.Count}");
        var (elapsed, _) = await PacedWithWaitersAsync(run, o.Consumers, send, consume, delete, endToEnd, rampUp: false);
        return new RunResult(o, elapsed, endToEnd.Count / elapsed.TotalSeconds, "messages delivered, at the paced rate",
            [endToEnd.Summarize(elapsed), send.Summarize(elapsed), consume.Summarize(elapsed), delete.Summarize(elapsed)])
        {
            ChecksDelivery = true,
            Parameters = { ["rate"] = o.Rate, ["consumers"] = o.Consumers, ["batch"] = o.Batch, ["body_bytes"] = o.BodyBytes, ["wait_time"] = 20 },
        };
    }

    private static async Task<RunResult> IdleWaitersAsync(Run run)
    {
        var o = run.Options;
        var endToEnd = new Recorder("publish->receive");
        var send = new Recorder("send");
        var consume = new Recorder("consume (long poll)");
        var delete = new Recorder("delete");
        var (elapsed, peakRss) = await PacedWithWaitersAsync(run, o.Waiters, send, consume, delete, endToEnd, rampUp: true);
        var result = new RunResult(o, elapsed, endToEnd.Count / elapsed.TotalSeconds, "messages delivered, at the paced rate",
            [endToEnd.Summarize(elapsed), send.Summarize(elapsed), consume.Summarize(elapsed), delete.Summarize(elapsed)])
        {
            ChecksDelivery = true,
            Parameters = { ["waiters"] = o.Waiters, ["rate"] = o.Rate, ["batch"] = o.Batch, ["body_bytes"] = o.BodyBytes, ["wait_time"] = 20 },
        };
        result.RssKiB["peak_sampled"] = peakRss;
        return result;
    }

    /// <summary>
    /// <paramref name="waiters"/> consumers long-polling with wait_time 20 (re-issued as they return) while one producer
    /// sends at <c>--rate</c>; then the consumers get up to 5 s to receive the last messages.
    /// </summary>
    private static async Task<(TimeSpan Elapsed, long? PeakRssKiB)> PacedWithWaitersAsync(
        Run run, int waiters, Recorder send, Recorder consume, Recorder delete, Recorder endToEnd, bool rampUp)
    {
        var o = run.Options;
        long? peak = null;
        void SampleRss()
        {
            if (Rss.ReadKiB(o.BrokerPid) is { } kib && (peak is null || kib > peak))
            {
                peak = kib;
            }
        }

        using var stopConsumers = CancellationTokenSource.CreateLinkedTokenSource(run.Hard.Token);
        var open = 0;
        var consumers = new List<Task>(waiters);
        var connect = Stopwatch.StartNew();
        var rampProgress = rampUp ? Progress.Start(run, () => $"ramp: {run.Client.ConsumesInFlight}/{waiters} long polls sent", connect) : null;
        // The ramp fits in the run's preparation limit (LoadOptions refuses a --waiters / --ramp that does not), and it
        // stops at the hard limit all the same.
        for (var i = 0; i < waiters && !run.Interrupted && run.Client.Errors.Total == 0 && !run.Hard.IsCancellationRequested; i++)
        {
            consumers.Add(Task.Run(
                async () =>
                {
                    Interlocked.Increment(ref open);
                    try
                    {
                        await run.ConsumeLoopAsync(o.Batch, 20, consume, delete, endToEnd, () => false, stopConsumers.Token, pollBeforeDeletesAnswer: true);
                    }
                    finally
                    {
                        Interlocked.Decrement(ref open);
                    }
                },
                CancellationToken.None));
            if (rampUp && i % 100 == 99)
            {
                // Connect at --ramp per second: thousands of SYNs at once overflow the broker's accept queue
                // (Kestrel's listen backlog is 512), and a SYN-cookie handshake that then fails is a reset.
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(100 / o.Ramp), run.Hard.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        }

        if (rampUp)
        {
            // Wait (until the run's preparation limit at most) until every long poll is on an established connection
            // and sent, then a moment more for the broker to park them all, and take its footprint.
            var port = o.Url.Port;
            var connections = o.Http2Connections > 0 ? Math.Min(o.Http2Connections, waiters) : waiters;
            // A long poll that failed (refused, a 5xx) is tried again at once and never counts as waiting: the run
            // ends there, with its errors, rather than wait out the preparation limit.
            while (!run.PastPreparationLimit && !run.Interrupted && run.Client.Errors.Total == 0
                && (run.Client.ConsumesInFlight < waiters || Connections.EstablishedTo(port) < connections))
            {
                await Task.Delay(250, CancellationToken.None);
            }

            rampProgress?.Dispose();
            run.Extra["ramp_seconds"] = Math.Round(connect.Elapsed.TotalSeconds, 3);
            if (run.Hard.IsCancellationRequested)
            {
                // Only a setup that took up nearly all of the hard limit gets here with it run out: the long polls end
                // with it, and the run says so, as a setup that never finished would.
                await Task.WhenAll(consumers).ContinueWith(_ => { }, TaskScheduler.Default);
                run.Hard.Token.ThrowIfCancellationRequested();
            }
            if (run.Client.Errors.Total > 0)
            {
                run.Notes.Add("requests failed during the ramp (see errors): the run ended there, before any send");
                run.StartCpu(reportWhatWentBeforeAs: "ramp");
                run.StartClock();
                run.StopCpu();
                await stopConsumers.CancelAsync();
                await Task.WhenAll(consumers);
                return (run.Elapsed, peak);
            }

            await Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None);
            run.Extra["waiters_started"] = Volatile.Read(ref open);
            run.Extra["long_polls_in_flight"] = run.Client.ConsumesInFlight;
            run.Extra["connections_established"] = Connections.EstablishedTo(port);
            run.Extra["rss_kib_with_waiters_parked"] = Rss.ReadKiB(o.BrokerPid);
            SampleRss();
            // Opening thousands of connections and parking their long polls is not what a message costs with them held:
            // counted in, it came to tens of thousands of us for each of the 50 messages a 5 s run sends at 10/s.
            run.StartCpu(reportWhatWentBeforeAs: "ramp");
        }

        run.StartClock();
        using var progress = rampUp
            ? Progress.Start(run, () =>
            {
                SampleRss();
                return $"sent {send.Count} received {endToEnd.Count}{(peak is { } kib ? $" rss {kib} KiB" : "")}";
            })
            : null;
        // Sends go out on schedule, not one after another's answer, so a slow 201 does not lower the rate.
        var interval = TimeSpan.FromSeconds(1 / o.Rate);
        var next = Stopwatch.GetTimestamp();
        var sends = new List<Task>();
        while (run.TryTake())
        {
            sends.Add(run.SendOneAsync(run.Ledger.NextSeq(), send, run.Hard.Token));
            sends.RemoveAll(t => t.IsCompleted);
            next += (long)(interval.TotalSeconds * Stopwatch.Frequency);
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), next);
            // At a low --rate the next send may be due after the deadline: waiting for it ran a 1 s run at 0.1/s for
            // 10 s, and Ctrl-C took as long to take effect.
            var left = o.Duration - run.Elapsed;
            if (wait > left)
            {
                wait = left;
            }

            if (wait > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(wait, run.Interrupt);
                }
                catch (OperationCanceledException)
                {
                }
            }

            SampleRss();
        }

        await Task.WhenAll(sends);
        var elapsed = run.Elapsed;
        // On the run's clock, as its limits are: a test waits it out on a fake one.
        var graceFrom = run.SinceStart;
        while (run.Ledger.Received < run.Ledger.Sent && run.SinceStart - graceFrom < TimeSpan.FromSeconds(5) && !run.Interrupted)
        {
            await Task.Delay(10, CancellationToken.None);
        }

        // Consumers were waiting for every message: one still not received 5 s after the last send was not handed to
        // them, which is what these scenarios measure; left out, it would only drop out of the percentiles.
        if (!run.Interrupted && run.Ledger.Unreceived is > 0 and var missed)
        {
            run.Notes.Add($"{missed} acknowledged messages were not received within 5 s of the last send, with consumers waiting for them");
        }

        SampleRss();
        // Ending every long poll at once (a socket closed, or a stream reset, for each) is no message's cost.
        run.StopCpu();
        await stopConsumers.CancelAsync();
        await Task.WhenAll(consumers);
        return (elapsed, peak);
    }

    private static async Task<RunResult> BurstAsync(Run run)
    {
        var o = run.Options;
        var ct = run.Hard.Token;
        if (o.Warm)
        {
            // One request per connection at once, so the pool the burst sends on opens them all before the burst.
            using var warmProgress = Progress.Start(run, () => $"warm: {run.Client.ConnectionsOpened}/{o.Concurrency} connections opened", Stopwatch.StartNew());
            await Task.WhenAll(Enumerable.Range(0, o.Concurrency).Select(_ => Task.Run(
                async () =>
                {
                    try
                    {
                        await run.Client.WarmUpAsync(ct);
                    }
                    catch (HttpRequestException ex)
                    {
                        run.Client.Errors.Add("GET /healthz (warm-up)", ex);
                    }
                },
                CancellationToken.None)));
        }

        var send = new Recorder("send");
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tasks = Enumerable.Range(0, o.Concurrency).Select(_ => Task.Run(
            async () =>
            {
                await gate.Task;
                await run.SendOneAsync(run.Ledger.NextSeq(), send, ct);
            },
            CancellationToken.None)).ToList();
        await Task.Delay(200, CancellationToken.None);
        run.StartClock();
        gate.SetResult();
        using (Progress.Start(run, () => $"burst: {send.Count}/{o.Concurrency} acknowledged"))
        {
            await Task.WhenAll(tasks);
        }

        var elapsed = run.Elapsed;
        var created = run.Ledger.Sent;
        if (created != o.Concurrency)
        {
            run.Notes.Add($"only {created} of {o.Concurrency} requests were acknowledged");
        }

        return new RunResult(o, elapsed, created / elapsed.TotalSeconds, "acknowledged sends over the burst's wall time", [send.Summarize(elapsed)])
        {
            ChecksDelivery = false,
            Parameters = { ["concurrency"] = o.Concurrency, ["warm_connections"] = o.Warm, ["body_bytes"] = o.BodyBytes },
            Extra = { ["burst_wall_ms"] = Math.Round(elapsed.TotalMilliseconds, 1), ["acknowledged"] = created },
        };
    }
}
