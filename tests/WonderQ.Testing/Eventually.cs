using System.Diagnostics;

namespace WonderQ.Testing;

/// <summary>
/// Polls until a condition holds instead of sleeping a fixed time, so a busy machine only makes a test slower. The
/// deadline is generous: it costs only a failing test its time.
/// </summary>
public static class Eventually
{
    public static readonly TimeSpan DefaultDeadline = TimeSpan.FromSeconds(60);

    // Conditions in memory are cheap to look at often; the ones that ask an app over HTTP would load it.
    private static readonly TimeSpan _inMemory = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan _overHttp = TimeSpan.FromMilliseconds(100);

    /// <summary>Fails with <paramref name="what"/> if <paramref name="condition"/> does not hold within the deadline.</summary>
    public static Task TrueAsync(Func<bool> condition, string what, TimeSpan? within = null) =>
        ValueAsync(() => Task.FromResult(condition()), holds => holds, what, within, _inMemory);

    public static Task TrueAsync(Func<Task<bool>> condition, string what, TimeSpan? within = null) =>
        ValueAsync(condition, holds => holds, what, within, _overHttp);

    /// <summary>Reads a value until it is as wanted and returns it; fails naming what was awaited and the last value read.</summary>
    public static Task<T> ValueAsync<T>(Func<T> read, Func<T, bool> wanted, string what, TimeSpan? within = null) =>
        ValueAsync(() => Task.FromResult(read()), wanted, what, within, _inMemory);

    public static Task<T> ValueAsync<T>(Func<Task<T>> read, Func<T, bool> wanted, string what, TimeSpan? within = null) =>
        ValueAsync(read, wanted, what, within, _overHttp);

    /// <summary>For a wait whose running out is an outcome rather than a failure: false if the deadline came first.</summary>
    public static async Task<bool> WithinAsync(Func<bool> condition, TimeSpan within)
    {
        var waited = Stopwatch.StartNew();
        while (!condition())
        {
            if (waited.Elapsed > within)
            {
                return false;
            }

            await Task.Delay(_inMemory);
        }

        return true;
    }

    private static async Task<T> ValueAsync<T>(Func<Task<T>> read, Func<T, bool> wanted, string what, TimeSpan? within, TimeSpan every)
    {
        var deadline = within ?? DefaultDeadline;
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var value = await read();
            if (wanted(value))
            {
                return value;
            }

            if (waited.Elapsed > deadline)
            {
                var seen = value is bool ? "" : $" (last seen: {value})";
                throw new TimeoutException($"Waited {deadline.TotalSeconds:0.#} s in vain until {what}{seen}.");
            }

            await Task.Delay(every);
        }
    }
}
