using System.Diagnostics;

namespace WonderQ.Broker.Tests.LoadTool;

/// <summary>
/// The load tool as a user runs it, a process of its own (<c>dotnet WonderQ.LoadTest.dll</c>, built beside these
/// tests): what only the process shows, its exit code and what it writes where, comes from its entry point.
/// </summary>
internal static class LoadToolProcess
{
    public sealed record Outcome(int ExitCode, string Output, string Error);

    public static Task<Outcome> RunAsync(params string[] args) => RunAsync(new ProcessStartInfo("dotnet"), args);

    /// <summary>The tool started from a shell that first lowers its open-file limit (<c>ulimit -n</c>) to <paramref name="openFiles"/>.</summary>
    public static Task<Outcome> RunWithOpenFileLimitAsync(int openFiles, params string[] args)
    {
        var info = new ProcessStartInfo("bash");
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add($"ulimit -n {openFiles} && exec dotnet \"$@\"");
        info.ArgumentList.Add("bash");
        return RunAsync(info, args);
    }

    private static async Task<Outcome> RunAsync(ProcessStartInfo info, string[] args)
    {
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "WonderQ.LoadTest.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        // Every run here is short; a shared two-core machine may still take a while to start one.
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"The load tool ({string.Join(' ', args)}) did not exit: {await error}");
        }

        return new Outcome(process.ExitCode, await output, await error);
    }
}
