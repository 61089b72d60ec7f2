using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace WonderQ.Testing;

/// <summary>
/// One of the apps as an OS process of its own (<c>dotnet WonderQ.&lt;App&gt;.dll</c> from its build output), for what
/// only a process shows: a SIGKILL, an exit code, what it writes. Disposing kills it: no test leaves an orphan behind.
/// </summary>
public sealed class AppProcess : IDisposable, IAsyncDisposable
{
    // Enough for any test's reading, bounded for a process under load for a long time.
    private const int MaxLines = 10_000;
    private readonly Process _process;
    private readonly ConcurrentQueue<(bool Error, string Line)> _lines = new();

    private AppProcess(string app, Process process, Uri url)
    {
        Name = app;
        _process = process;
        Url = url;
    }

    public string Name { get; }

    public Uri Url { get; }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Both streams' lines, as they came.</summary>
    public IReadOnlyList<string> Output => [.. _lines.Select(l => l.Line)];

    public string StandardOutput => string.Join('\n', _lines.Where(l => !l.Error).Select(l => l.Line));

    public string StandardError => string.Join('\n', _lines.Where(l => l.Error).Select(l => l.Line));

    /// <summary>
    /// Starts <paramref name="app"/> (Broker, DevTool or UserApp) on 127.0.0.1:<paramref name="port"/>, in
    /// <paramref name="workingDirectory"/> (its content root unless <c>--contentRoot</c> says otherwise; its build
    /// output when null), with <paramref name="args"/> after the usual ones.
    /// </summary>
    public static AppProcess Start(string app, int port, string? workingDirectory, params string[] args) =>
        Start(app, port, workingDirectory, new Dictionary<string, string>(), args);

    /// <summary>The same, with <paramref name="environment"/> set for the process on top of the test runner's.</summary>
    public static AppProcess Start(string app, int port, string? workingDirectory, IReadOnlyDictionary<string, string> environment, params string[] args) =>
        Start(app, port, new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory ?? RepoPaths.AppDirectory(app) }, environment, args);

    /// <summary>
    /// The same, from its own folder, started from a shell that lets it write no file past <paramref name="fileSizeLimitKiB"/>
    /// (<c>ulimit -f</c>): a write that would grow one further fails as on a disk with no room left. SIGXFSZ is ignored so
    /// that such a write fails rather than kill the process, and the runtime maps no code through a file (W^X off), as it
    /// would not start with that limit otherwise.
    /// </summary>
    public static AppProcess StartWithFileSizeLimit(string app, int port, int fileSizeLimitKiB, params string[] args)
    {
        var info = new ProcessStartInfo("bash") { WorkingDirectory = RepoPaths.AppDirectory(app) };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add($"trap '' XFSZ && ulimit -f {fileSizeLimitKiB} && exec dotnet \"$@\"");
        info.ArgumentList.Add("bash");
        return Start(app, port, info, new Dictionary<string, string> { ["DOTNET_EnableWriteXorExecute"] = "0" }, args);
    }

    /// <summary>
    /// <paramref name="app"/> from a copy of its build output at <paramref name="dll"/>, in <paramref name="workingDirectory"/>:
    /// for what an app does with a folder that lacks some of its files.
    /// </summary>
    public static AppProcess StartDll(string app, string dll, int port, string workingDirectory, params string[] args) =>
        Start(app, port, new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory }, new Dictionary<string, string>(), args, dll);

    private static AppProcess Start(string app, int port, ProcessStartInfo info, IReadOnlyDictionary<string, string> environment, string[] args, string? dll = null)
    {
        dll ??= RepoPaths.AppDll(app);
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"{app} is not built at {dll}; build the solution first.");
        }

        var url = FreePort.Url(port);
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        foreach (var arg in new[] { dll, "--urls", url.ToString().TrimEnd('/'), "--Logging:LogLevel:Default=Warning" }.Concat(args))
        {
            info.ArgumentList.Add(arg);
        }

        // The app's own environment, not whatever the test runner was started with.
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        info.Environment.Remove("ASPNETCORE_URLS");
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        var process = new Process { StartInfo = info };
        var started = new AppProcess(app, process, url);
        process.OutputDataReceived += (_, e) => started.Keep(error: false, e.Data);
        process.ErrorDataReceived += (_, e) => started.Keep(error: true, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return started;
    }

    /// <summary>The broker over <paramref name="databasePath"/>, started in its own folder unless told otherwise.</summary>
    public static AppProcess StartBroker(string databasePath, int port, string? workingDirectory = null) =>
        Start("Broker", port, workingDirectory, $"--Storage:Sqlite:Path={databasePath}");

    public HttpClient CreateClient() => new() { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>Waits until <paramref name="path"/> answers 200; fails with the app's output if it exits or the deadline passes.</summary>
    public async Task WaitReadyAsync(string path = "/healthz", TimeSpan? within = null)
    {
        using var http = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            await Eventually.ValueAsync(
                async () => HasExited ? $"exited with {ExitCode}" : await StatusAsync(http, path),
                state => state.StartsWith("exited", StringComparison.Ordinal) || state == nameof(HttpStatusCode.OK),
                $"{Name} answers {path} with 200",
                within);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message}\n{string.Join('\n', Output)}", ex);
        }

        if (HasExited)
        {
            throw new InvalidOperationException($"{Name} exited with {ExitCode} before it was ready:\n{string.Join('\n', Output)}");
        }
    }

    /// <summary>Waits for the process to end by itself, its output read to the end; false if it still runs at the deadline.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan within)
    {
        using var deadline = new CancellationTokenSource(within);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Sends <paramref name="signal"/> (a name kill(1) takes, such as HUP) to the app alone.</summary>
    public void Signal(string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", _process.Id.ToString(CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
    }

    /// <summary>SIGKILL: no shutdown hooks, no flushing; whatever is not on disk is gone.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.WaitForExit(30_000);
    }

    public void Dispose()
    {
        try
        {
            Kill();
        }
        catch (InvalidOperationException)
        {
            // Never started or already reaped.
        }

        _process.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private static async Task<string> StatusAsync(HttpClient http, string path)
    {
        try
        {
            using var response = await http.GetAsync(path);
            return response.StatusCode.ToString();
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return ex.Message;
        }
    }

    private void Keep(bool error, string? line)
    {
        if (line is not null)
        {
            _lines.Enqueue((error, line));
            while (_lines.Count > MaxLines && _lines.TryDequeue(out _))
            {
            }
        }
    }
}
