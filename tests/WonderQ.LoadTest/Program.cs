using WonderQ.LoadTest;

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

using var run = new Run(options);
try
{
    var result = await Scenarios.RunAsync(run);
    Console.WriteLine(options.Json ? result.ToJson() : result.ToTable());
    return result.Passed ? 0 : 1;
}
catch (Exception ex) when (ex is SetupException or HttpRequestException or OperationCanceledException)
{
    Console.Error.WriteLine($"The load test could not run against {options.Url}: {ex.Message}");
    return 2;
}
