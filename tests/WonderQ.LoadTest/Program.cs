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
    if (args.Any(a => a is "-h" or "--help") || (args.Length > 0 && args[0] == "help"))
    {
        Console.WriteLine(LoadOptions.Usage);
        return 0;
    }

    options = LoadOptions.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine(ex.Message);
    Console.Error.WriteLine("Run with --help for the scenarios and options.");
    return 2;
}

// Thousands of concurrent requests start at once: do not make the thread pool ramp up one thread at a time.
ThreadPool.GetMinThreads(out var workers, out var io);
ThreadPool.SetMinThreads(Math.Max(workers, 64), Math.Max(io, 64));

// The first Ctrl-C ends the run early and still reports it and deletes its queue; a second one quits at once.
using var interrupt = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    if (!interrupt.IsCancellationRequested)
    {
        e.Cancel = true;
        Console.Error.WriteLine("stopping: finishing the run, reporting it and deleting its queue (Ctrl-C again quits at once)");
        interrupt.Cancel();
    }
};

return await Session.RunAsync(options, Console.Out, Console.Error, interrupt: interrupt.Token);
