using Microsoft.Extensions.Options;

namespace WonderQ.Broker.Infrastructure;

/// <summary>
/// The GC collects only as the process allocates, so what a busy spell left behind stayed committed for as long as the
/// broker then sat idle: after 10,000 long polls had come and gone, 277 MB against the 80 MB it started with, for good.
/// Once no collection at all has run for <see cref="MemoryOptions.IdleCollectAfter"/>, which takes a broker with next to
/// no requests, it collects once, compacting, and gives the free memory back. Not again until a collection of the
/// runtime's own shows requests came since: a heap that is large because it is live (idle keep-alive connections)
/// would only be scanned for nothing every interval.
/// </summary>
internal sealed class IdleMemoryRelease(IOptions<MemoryOptions> options, TimeProvider time, ILogger<IdleMemoryRelease> logger)
    : BackgroundService
{
    /// <summary>Collections so far, of any generation, and the memory the GC held committed after the last one.</summary>
    internal Func<(int Collections, long CommittedBytes)> ReadGc { get; init; } =
        () => (GC.CollectionCount(0), GC.GetGCMemoryInfo().TotalCommittedBytes);

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
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var now = ReadGc();
                if (now.Collections == seen && now.Collections != afterOwn && now.CommittedBytes >= settings.IdleCollectMinBytes)
                {
                    var started = time.GetTimestamp();
                    Collect();
                    var after = ReadGc();
                    logger.LogInformation(
                        "No garbage collection for {IdleCollectAfter}: collected once, and the GC's committed memory went from {Before} MB to {After} MB in {Milliseconds:0} ms",
                        settings.IdleCollectAfter,
                        now.CommittedBytes / (1024 * 1024),
                        after.CommittedBytes / (1024 * 1024),
                        time.GetElapsedTime(started).TotalMilliseconds);
                    now = after;
                    afterOwn = after.Collections;
                }

                seen = now.Collections;
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
