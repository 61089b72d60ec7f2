using System.Threading.Channels;

namespace WonderQ.Broker.Storage.Postgres;

/// <summary>
/// Group commit, as the SQLite store's writer does it: the operations that arrive while one batch runs make the next,
/// so that one statement and one commit serve many requests. It runs only while operations wait; the next one starts it
/// again.
/// </summary>
/// <param name="runBatch">Runs a batch and answers each of its operations, whatever fails.</param>
/// <param name="maxCount">The most operations in a batch.</param>
/// <param name="maxBytes">The most bytes in a batch, one operation at least.</param>
/// <param name="bytesOf">An operation's bytes.</param>
internal sealed class GroupCommit<T>(Func<List<T>, Task> runBatch, int maxCount, long maxBytes, Func<T, long> bytesOf)
{
    // Not SingleReader: a drain's last look, after it lets go, can overlap the reads of the drain that follows it.
    private readonly Channel<T> _pending = Channel.CreateUnbounded<T>();
    private int _draining;

    public void Add(T operation)
    {
        _pending.Writer.TryWrite(operation);
        if (Interlocked.CompareExchange(ref _draining, 1, 0) == 0)
        {
            _ = Task.Run(DrainAsync);
        }
    }

    private async Task DrainAsync()
    {
        var batch = new List<T>(maxCount);
        while (true)
        {
            batch.Clear();
            var bytes = 0L;
            while (batch.Count < maxCount
                && _pending.Reader.TryPeek(out var next)
                && (batch.Count == 0 || bytes + bytesOf(next) <= maxBytes)
                && _pending.Reader.TryRead(out var operation))
            {
                batch.Add(operation);
                bytes += bytesOf(operation);
            }

            if (batch.Count == 0)
            {
                // A full fence between clearing the flag and looking again (a write alone would let the look go first).
                Interlocked.Exchange(ref _draining, 0);

                // An operation written after the last read and before the flag fell would wait for the next one: look again.
                if (_pending.Reader.TryPeek(out _) && Interlocked.CompareExchange(ref _draining, 1, 0) == 0)
                {
                    continue;
                }

                return;
            }

            try
            {
                await runBatch(batch);
            }
            catch (Exception)
            {
                // runBatch answers each of its operations itself; a throw must not end the loop, which the next
                // operations would wait on for ever.
            }
        }
    }
}
