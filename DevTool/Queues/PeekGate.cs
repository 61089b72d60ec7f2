using Microsoft.Extensions.Options;
using WonderQ.DevTool.Dashboard;

namespace WonderQ.DevTool.Queues;

/// <summary>
/// Counts the peeks being answered against <c>Dashboard:MaxConcurrentPeeks</c>. A peek's slot is held until its answer
/// has been written (a caller that reads slowly keeps the messages in memory as long), not only while the broker is asked.
/// </summary>
public sealed class PeekGate(IOptions<DashboardOptions> options)
{
    private int _open;

    /// <summary>A slot, released when disposed, or null when every slot is taken.</summary>
    public IDisposable? TryEnter()
    {
        if (Interlocked.Increment(ref _open) > options.Value.MaxConcurrentPeeks)
        {
            Interlocked.Decrement(ref _open);
            return null;
        }

        return new Slot(this);
    }

    private sealed class Slot(PeekGate gate) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                Interlocked.Decrement(ref gate._open);
            }
        }
    }
}
