namespace WonderQ.Shared.Web;

/// <summary>
/// A count of work under way against a cap, for work that holds memory until its answer is written (the DevTool's
/// peeks, the UserApp's dispatched messages). The cap is read at each take, as it is a setting. A take is all or
/// nothing, so one refused has changed nothing, and its lease gives it back once, however often disposed.
/// </summary>
public abstract class InFlightBudget(Func<long> max)
{
    private long _taken;

    /// <summary>What the leases now held have taken.</summary>
    public long Taken => Interlocked.Read(ref _taken);

    /// <summary>A lease on <paramref name="count"/>, or null when it would take what is under way past the cap.</summary>
    public IDisposable? TryTake(long count)
    {
        var cap = max();
        var taken = Interlocked.Read(ref _taken);
        while (true)
        {
            if (taken + count > cap)
            {
                return null;
            }

            var seen = Interlocked.CompareExchange(ref _taken, taken + count, taken);
            if (seen == taken)
            {
                return new Lease(this, count);
            }

            taken = seen;
        }
    }

    private sealed class Lease(InFlightBudget budget, long count) : IDisposable
    {
        private int _returned;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _returned, 1) == 0)
            {
                Interlocked.Add(ref budget._taken, -count);
            }
        }
    }
}
