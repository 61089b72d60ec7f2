using Microsoft.Extensions.Time.Testing;

namespace WonderQ.Broker.Tests;

/// <summary>
/// A fake clock whose wall time can step back, as NTP may set a system clock that ran ahead, or forward, as a virtual
/// machine resumed, while its timers and timestamps (the monotonic clock) run on.
/// </summary>
public class SteppingClock() : FakeTimeProvider(BrokerApplication.StartTime)
{
    private long _behindTicks;

    public void StepBack(TimeSpan by) => Interlocked.Add(ref _behindTicks, by.Ticks);

    public void StepForward(TimeSpan by) => StepBack(-by);

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() - TimeSpan.FromTicks(Volatile.Read(ref _behindTicks));

    // FakeTimeProvider reads its timestamps from GetUtcNow; these stay on the clock that never steps.
    public override long GetTimestamp() => base.GetUtcNow().UtcTicks;
}
