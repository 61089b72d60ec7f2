using System.Diagnostics;
using System.Globalization;

namespace WonderQ.LoadTest;

/// <summary>A line on stderr once a second, from the third second on (short runs stay quiet), until Ctrl-C.</summary>
internal sealed class Progress : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    private Progress(Run run, Func<string> describe, Func<TimeSpan> elapsedNow, bool measured)
    {
        _loop = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
            try
            {
                while (await timer.WaitForNextTickAsync(_stop.Token))
                {
                    var elapsed = elapsedNow();
                    // After Ctrl-C the user has been told the run is stopping; a count still ticking would say otherwise.
                    if (elapsed >= TimeSpan.FromSeconds(3) && !run.Interrupted)
                    {
                        // Past its --duration a run waits for what the server still owes it: a server that stopped
                        // answering some requests showed the same count for a minute, with nothing to say why or until when.
                        var owed = measured && elapsed >= run.Options.Duration
                            ? $"  (past --duration: finishing; what the server has not answered {run.HardLimit.TotalSeconds:0} s after the run's start is given up)"
                            : "";
                        Console.Error.WriteLine(string.Create(
                            CultureInfo.InvariantCulture,
                            $"[{elapsed.TotalSeconds,5:0.0}s] {describe()}  errors {run.Client.Errors.Total}{owed}"));
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
    }

    /// <summary>Reports on the measured run, or on a phase before it (a pre-fill, a ramp) timed by <paramref name="phase"/>.</summary>
    public static Progress? Start(Run run, Func<string> describe, Stopwatch? phase = null) =>
        run.Options.Quiet ? null : new Progress(run, describe, phase is null ? () => run.Elapsed : () => phase.Elapsed, measured: phase is null);

    public void Dispose()
    {
        _stop.Cancel();
        _loop.Wait();
        _stop.Dispose();
    }
}
