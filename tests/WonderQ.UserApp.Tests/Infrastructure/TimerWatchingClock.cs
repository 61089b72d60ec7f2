using Microsoft.Extensions.Time.Testing;

namespace WonderQ.UserApp.Tests.Infrastructure;

/// <summary>
/// A fake clock told of each wait set on it, by a new timer or by a change to one: a cancellation's delay is set by
/// changing a timer made to wait for ever.
/// </summary>
public abstract class TimerWatchingClock() : FakeTimeProvider(DateTimeOffset.UtcNow)
{
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new WatchedTimer(base.CreateTimer(callback, state, dueTime, period), this);
        Set(dueTime);
        return timer;
    }

    protected abstract void Set(TimeSpan dueTime);

    private sealed class WatchedTimer(ITimer timer, TimerWatchingClock clock) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            var changed = timer.Change(dueTime, period);
            clock.Set(dueTime);
            return changed;
        }

        public void Dispose() => timer.Dispose();

        public ValueTask DisposeAsync() => timer.DisposeAsync();
    }
}
