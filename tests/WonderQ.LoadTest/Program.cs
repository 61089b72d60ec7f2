using WonderQ.LoadTest;

// The hot path's sockets (Wire/) complete their awaits on the socket engine's epoll threads (one per core) instead of
// handing every completion to the thread pool: the continuations are short and never block, and the hand-off (a
// queue, a thread wake-up) cost as much CPU as the request itself on two cores the broker also needs. The runtime
// reads this once, when the first socket is registered, so it must be set before any; an explicit setting wins.
if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
{
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
}

LoadOptions options;
try
{
    if (args.Length > 0 && args[0] is "-h" or "--help" or "help")
    {
        Console.WriteLine(LoadOptions.Usage);
        return 0;
    }

    options = LoadOptions.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine(ex.Message);
    Console.Error.WriteLine();
    Console.Error.WriteLine(LoadOptions.Usage);
    return 2;
}

// Thousands of concurrent requests start at once: do not make the thread pool ramp up one thread at a time.
ThreadPool.GetMinThreads(out var workers, out var io);
ThreadPool.SetMinThreads(Math.Max(workers, 64), Math.Max(io, 64));

try
{
    var warmedUp = await WarmUpAsync(options);

    // Made after the warm-up: a run's hard deadline counts from its creation.
    using var run = new Run(options);
    if (warmedUp is { } warm)
    {
        run.Extra["warmup_s"] = options.WarmupSeconds;
        if (!warm.Passed)
        {
            run.Notes.Add("the warm-up run itself had errors, losses or duplicates (its figures are not shown)");
        }
    }

    var result = await Scenarios.RunAsync(run);
    Console.WriteLine(options.Json ? result.ToJson() : result.ToTable());
    return result.Passed ? 0 : 1;
}
catch (Exception ex) when (ex is SetupException or HttpRequestException or OperationCanceledException)
{
    Console.Error.WriteLine($"The load test could not run against {options.Url}: {ex.Message}");
    return 2;
}

// A .NET broker (and this tool) runs tier-0 code and recompiles its hot paths for the first 20-30 s of load; measured
// from a cold start, that JIT work is counted as the cost of the requests.
static async Task<RunResult?> WarmUpAsync(LoadOptions options)
{
    if (options.WarmupSeconds <= 0)
    {
        return null;
    }

    if (!options.Quiet)
    {
        Console.Error.WriteLine($"warming up for {options.WarmupSeconds:0.#} s (unmeasured)");
    }

    using var warmUp = new Run(options.ForWarmUp());
    return await Scenarios.RunAsync(warmUp);
}
