using Microsoft.Extensions.Options;

namespace WonderQ.UserApp.Dispatch;

/// <summary>
/// Counts the messages the <c>/dispatch</c> calls under way are sending, against <c>UserApp:MaxDispatchingMessages</c>.
/// A call takes its whole count before it does anything (finding or creating its queue included), so one refused has
/// changed nothing, and gives it back when it is answered.
/// </summary>
public sealed class DispatchBudget(IOptions<UserAppOptions> options)
{
    private long _taken;

    /// <summary>The messages being sent now.</summary>
    public long Taken => Interlocked.Read(ref _taken);

    /// <summary>A lease on <paramref name="count"/> messages, or null when they would take the calls under way past the cap.</summary>
    public Lease? TryTake(int count)
    {
        var max = options.Value.MaxDispatchingMessages;
        var taken = Interlocked.Read(ref _taken);
        while (true)
        {
            if (taken + count > max)
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

    public sealed class Lease(DispatchBudget budget, int count) : IDisposable
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
