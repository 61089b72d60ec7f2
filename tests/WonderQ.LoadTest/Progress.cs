using System.Globalization;

namespace WonderQ.LoadTest;

/// <summary>A line on stderr once a second, from the third second on (short runs stay quiet).</summary>
internal sealed class Progress : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    private Progress(Run run, Func<string> describe)
    {
        _loop = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
            try
            {
                while (await timer.WaitForNextTickAsync(_stop.Token))
                {
                    var elapsed = run.Elapsed;
                    if (elapsed >= TimeSpan.FromSeconds(3))
                    {
                        Console.Error.WriteLine(string.Create(
                            CultureInfo.InvariantCulture,
                            $"[{elapsed.TotalSeconds,5:0.0}s] {describe()}  errors {run.Client.Errors.Total}"));
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
    }

    public static Progress? Start(Run run, Func<string> describe) => run.Options.Quiet ? null : new Progress(run, describe);

    public void Dispose()
    {
        _stop.Cancel();
        _loop.Wait();
        _stop.Dispose();
    }
}
