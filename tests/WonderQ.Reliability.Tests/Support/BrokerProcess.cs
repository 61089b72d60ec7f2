using System.Diagnostics;
using System.Text;

namespace WonderQ.Reliability.Tests.Support;

/// <summary>
/// The broker as a real OS process (<c>dotnet WonderQ.Broker.dll</c>), so it can be killed with SIGKILL and restarted
/// on the same file and port. Dispose kills it if it still runs: no test leaves an orphan behind.
/// </summary>
public sealed class BrokerProcess : IDisposable
{
    private const int MaxLogLines = 400;
    private readonly Process _process;
    private readonly Queue<string> _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Lock _lock = new();

    private BrokerProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string StandardError
    {
        get
        {
            lock (_lock)
            {
                return _stderr.ToString();
            }
        }
    }

    public string StandardOutput
    {
        get
        {
            lock (_lock)
            {
                return string.Join('\n', _stdout);
            }
        }
    }

    public static BrokerProcess Start(string databasePath, int port, params string[] extraArgs) =>
        StartIn(RepoPaths.BrokerDirectory, databasePath, port, extraArgs);

    /// <summary>Starts the broker with <paramref name="workingDirectory"/> as its working directory (and so its content root).</summary>
    public static BrokerProcess StartIn(string workingDirectory, string databasePath, int port, params string[] extraArgs)
    {
        if (!File.Exists(RepoPaths.BrokerDll))
        {
            throw new InvalidOperationException($"The broker is not built at {RepoPaths.BrokerDll}; build the solution first.");
        }

        var baseAddress = new Uri($"http://127.0.0.1:{port}");
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(RepoPaths.BrokerDll);
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add(baseAddress.ToString().TrimEnd('/'));
        info.ArgumentList.Add($"--Storage:Sqlite:Path={databasePath}");
        info.ArgumentList.Add("--Logging:LogLevel:Default=Warning");
        foreach (var arg in extraArgs)
        {
            info.ArgumentList.Add(arg);
        }

        // The broker's own environment, not whatever the test runner was started with.
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        info.Environment.Remove("ASPNETCORE_URLS");

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var broker = new BrokerProcess(process, baseAddress);
        process.OutputDataReceived += (_, e) => broker.OnStdout(e.Data);
        process.ErrorDataReceived += (_, e) => broker.OnStderr(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return broker;
    }

    /// <summary>Polls /healthz until it answers 200; fails with the broker's output if it exits or the deadline passes.</summary>
    public async Task WaitHealthyAsync(HttpClient client, TimeSpan deadline)
    {
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException(
                    $"The broker exited with {_process.ExitCode} before it was healthy.\nstderr:\n{StandardError}\nstdout:\n{StandardOutput}");
            }

            try
            {
                using var response = await client.GetAsync(new Uri(BaseAddress, "/healthz"));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"The broker was not healthy within {deadline}.\nstderr:\n{StandardError}\nstdout:\n{StandardOutput}");
    }

    /// <summary>Waits for the process to end by itself; false if it is still running at the deadline.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan deadline)
    {
        using var cts = new CancellationTokenSource(deadline);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
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

    private void OnStdout(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lock)
        {
            _stdout.Enqueue(line);
            if (_stdout.Count > MaxLogLines)
            {
                _stdout.Dequeue();
            }
        }
    }

    private void OnStderr(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lock)
        {
            if (_stderr.Length < 64 * 1024)
            {
                _stderr.AppendLine(line);
            }
        }
    }
}
