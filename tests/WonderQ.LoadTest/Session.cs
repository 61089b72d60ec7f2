namespace WonderQ.LoadTest;

/// <summary>
/// The runs of one invocation: the scenario on each server of <see cref="LoadOptions.Urls"/> in turn,
/// <see cref="LoadOptions.Rounds"/> times, each server warmed up before its first run. Taking turns, rather than all of
/// one server's runs and then the next's, lays a noisy machine's drift on every server alike; every other round goes
/// in reverse order so that no server always runs first.
/// </summary>
internal static class Session
{
    /// <summary>
    /// Prints each run and, for more than one, the side-by-side summary; returns the process's exit code. After a
    /// server could not be reached, or Ctrl-C (<paramref name="interrupt"/>), the runs done so far are still printed.
    /// <paramref name="time"/> counts down each run's hard limit and its grace after Ctrl-C.
    /// </summary>
    public static async Task<int> RunAsync(
        LoadOptions options, TextWriter output, TextWriter log, TimeProvider? time = null, CancellationToken interrupt = default)
    {
        var servers = options.Urls.Count;
        var runs = new List<(int Server, RunResult Result)>();
        string? failure = null;
        // Why a run after Ctrl-C was given up (the server no longer answering): the exit code is still Ctrl-C's.
        string? givenUp = null;
        for (var round = 0; round < options.Rounds && failure is null && !interrupt.IsCancellationRequested; round++)
        {
            for (var turn = 0; turn < servers && !interrupt.IsCancellationRequested; turn++)
            {
                var index = round % 2 == 0 ? turn : servers - 1 - turn;
                var server = options.ForServer(index);
                if (!options.Quiet && servers * options.Rounds > 1)
                {
                    log.WriteLine($"round {round + 1} of {options.Rounds}: {server.Url}");
                }

                RunResult? result;
                try
                {
                    result = await MeasureAsync(server, warmUp: round == 0, log, time, interrupt);
                }
                catch (Exception ex) when (ex is SetupException or HttpRequestException or OperationCanceledException)
                {
                    var reason = $"could not run against {server.Url}: {ex.Message}";
                    log.WriteLine($"The load test {reason}");
                    // After Ctrl-C, a run cut short is the user's doing (130), not a failure to set up (2).
                    failure = interrupt.IsCancellationRequested ? null : reason;
                    givenUp = interrupt.IsCancellationRequested ? reason : null;
                    break;
                }

                if (result is null || (result.InterruptedBeforeMeasuring && !result.Failed))
                {
                    // Zeros from a run that never got to measure would read as a measurement (and pull a median down);
                    // one that lost or duplicated a message while filling its queue is still reported.
                    // Said after a warm-up (null) too: the stop notice promised a report, and without --json nothing else follows.
                    log.WriteLine(result is null
                        ? $"stopped by Ctrl-C during the warm-up against {server.Url}: nothing was measured, nothing to report for it"
                        : $"stopped by Ctrl-C before the measured phase against {server.Url} began: nothing to report for it");

                    break;
                }

                runs.Add((index, result));
                if (!options.Json)
                {
                    output.WriteLine(result.ToTable());
                }
            }
        }

        // The shape is the session's, not how far it got: a script reading --json gets the document it asked for, and a
        // reader of the table the summary, even when the session stopped at a server it could not reach (its row says
        // NOT RUN; the error is on stderr, and in --json's "error").
        // A script reading --json gets a document after Ctrl-C too, even before any run was measured.
        var stoppedEarly = runs.Count == 0 && failure is null && interrupt.IsCancellationRequested;
        if (runs.Count > 0 || failure is not null || (stoppedEarly && options.Json))
        {
            if (options.Urls.Count * options.Rounds > 1)
            {
                var summary = SideBySide.Summarise(options, runs);
                output.WriteLine(options.Json ? SideBySide.ToJson(runs.Select(r => r.Result), summary, failure ?? givenUp ?? (stoppedEarly ? StoppedBeforeMeasuring : null)) : SideBySide.ToTable(options, summary, runs.Any(r => r.Result.Interrupted)));
            }
            else if (options.Json)
            {
                output.WriteLine(runs.Count > 0 ? runs[0].Result.ToJson() : RunResult.NotRunJson(options, failure ?? givenUp ?? StoppedBeforeMeasuring));
            }
        }

        return failure is not null ? 2
            : runs.Count == 0 ? 130
            : runs.Any(r => r.Result.Failed) ? 1
            : runs.Any(r => r.Result.Result == "UNVERIFIED") ? 3
            : interrupt.IsCancellationRequested ? 130
            : 0;
    }

    private const string StoppedBeforeMeasuring = "stopped by Ctrl-C before a run was measured";

    /// <summary>The measured run, or null when Ctrl-C came during the warm-up.</summary>
    private static async Task<RunResult?> MeasureAsync(LoadOptions options, bool warmUp, TextWriter log, TimeProvider? time, CancellationToken interrupt)
    {
        RunResult? warm = null;
        if (warmUp && options.WarmupSeconds > 0)
        {
            if (options.NoFill)
            {
                // The warm-up drains a queue of its own: a drain of a missing or empty backlog is refused before its
                // seconds, not after them.
                using var check = new Run(options, time, interrupt);
                await Scenarios.OpenQueueAsync(check);
            }

            // A .NET broker (and this tool) runs tier-0 code and recompiles its hot paths for the first 20-30 s of
            // load; measured from a cold start, that JIT work is counted as the cost of the requests.
            if (!options.Quiet)
            {
                log.WriteLine($"warming up for {options.WarmupSeconds:0.#} s (unmeasured)");
            }

            using var warmUpRun = new Run(options.ForWarmUp(), time, interrupt);
            warm = await Scenarios.RunAsync(warmUpRun);
            if (interrupt.IsCancellationRequested)
            {
                return null;
            }
        }

        // Made after the warm-up: a run's hard deadline counts from its creation.
        using var run = new Run(options, time, interrupt);
        if (warm is not null)
        {
            run.Extra["warmup_s"] = options.WarmupSeconds;
            // Failed, not merely unverified: against a server that cannot count its queue (the original WonderQ) every
            // run is unverified, and the measured run says so itself.
            if (warm.Failed)
            {
                run.Notes.Add("the warm-up run itself had errors, losses or duplicates (its figures are not shown)");
            }
        }

        return await Scenarios.RunAsync(run);
    }
}
