using Microsoft.Extensions.Time.Testing;

namespace WonderQ.Broker.Tests;

/// <summary>
/// A fake clock whose wall time can step back, as NTP may set a system clock that ran ahead, while its timers and
/// timestamps (the monotonic clock) run on.
/// </summary>
public class SteppingClock() : FakeTimeProvider(BrokerApplication.StartTime)
{
    private TimeSpan _behind;

    public void StepBack(TimeSpan by) => _behind += by;

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() - _behind;

    // FakeTimeProvider reads its timestamps from GetUtcNow; these stay on the clock that never steps.
    public override long GetTimestamp() => base.GetUtcNow().UtcTicks;
}
