using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace WonderQ.Broker.Infrastructure;

/// <summary>
/// The GC collects only as the process allocates, so what a busy spell left behind stayed committed for as long as the
/// broker then sat idle: after 10,000 long polls had come and gone, 277 MB against the 80 MB it started with, for good.
/// Once no collection at all has run for <see cref="MemoryOptions.IdleCollectAfter"/>, which takes a broker with next to
/// no requests, it collects once, compacting, and gives the free memory back. Not again until the runtime has collected
/// on its own since and holds <see cref="MemoryOptions.IdleCollectMinBytes"/> more than that collection left: a heap
/// that is large because it is live (idle keep-alive connections) would otherwise be compacted for nothing after every
/// collection a trickle of requests brings.
/// </summary>
internal sealed class IdleMemoryRelease(IOptions<MemoryOptions> options, TimeProvider time, ILogger<IdleMemoryRelease> logger)
    : BackgroundService
{
    /// <summary>
    /// Collections so far, of any generation, and the memory the heap holds: committed as of the last collection, or
    /// allocated since, if more (server GC lets a spell allocate far past it before it collects).
    /// </summary>
    internal Func<(int Collections, long HeldBytes)> ReadGc { get; init; } =
        () => (GC.CollectionCount(0), Math.Max(GC.GetGCMemoryInfo().TotalCommittedBytes, GC.GetTotalMemory(forceFullCollection: false)));

    internal Action Collect { get; init; } = () => GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (settings.IdleCollectAfter == TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(settings.IdleCollectAfter, time);
        var seen = ReadGc().Collections;
        int? afterOwn = null;
        var leftByOwn = 0L;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var now = ReadGc();
                if (now.Collections == seen && now.Collections != afterOwn && now.HeldBytes - leftByOwn >= settings.IdleCollectMinBytes)
                {
                    var started = Stopwatch.GetTimestamp();
                    Collect();
                    var after = ReadGc();
                    logger.LogInformation(
                        "No garbage collection for {IdleCollectAfter}: collected once, and the heap went from {Before:0.#} MB to {After:0.#} MB in {Milliseconds:0} ms",
                        settings.IdleCollectAfter,
                        now.HeldBytes / (1024.0 * 1024),
                        after.HeldBytes / (1024.0 * 1024),
                        Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    afterOwn = after.Collections;
                    leftByOwn = after.HeldBytes;
                }

                seen = now.Collections;
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
