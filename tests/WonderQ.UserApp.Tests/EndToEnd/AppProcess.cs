using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace WonderQ.UserApp.Tests.EndToEnd;

/// <summary>
/// One of the real apps as its own process, started from its build output the way run.sh starts it, with its
/// stdout kept for the test to read. Disposing kills it and waits, so no test leaves anything listening.
/// </summary>
public sealed class AppProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private AppProcess(string name, Process process, Uri url)
    {
        Name = name;
        _process = process;
        Url = url;
    }

    public string Name { get; }

    public Uri Url { get; }

    public IReadOnlyList<string> Output => [.. _output];

    /// <summary>
    /// Starts <c>dotnet &lt;Folder&gt;/bin/&lt;Configuration&gt;/net10.0/&lt;Assembly&gt;.dll</c> on a free port and waits until
    /// <paramref name="readyPath"/> answers 200.
    /// </summary>
    public static async Task<AppProcess> StartAsync(
        string name, string folder, string assembly, string readyPath, string workingDirectory, params string[] args)
    {
        var output = BuildOutput(folder);
        var dll = Path.Combine(output, assembly + ".dll");
        File.Exists(dll).Should().BeTrue($"{dll} is built with the solution; run 'dotnet build' first");

        var url = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{FreePort()}"));
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { dll, "--contentRoot", output, "--urls", url.ToString() }.Concat(args))
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["Logging__Console__FormatterName"] = "simple";
        start.Environment["Logging__Console__FormatterOptions__SingleLine"] = "true";

        var process = new Process { StartInfo = start };
        var app = new AppProcess(name, process, url);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { app._output.Enqueue(e.Data); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { app._output.Enqueue(e.Data); } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            if (process.HasExited)
            {
                await app.DisposeAsync();
                throw new InvalidOperationException($"{name} exited with {process.ExitCode}:\n{string.Join('\n', app.Output)}");
            }

            try
            {
                using var response = await http.GetAsync(readyPath);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return app;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            if (DateTime.UtcNow > deadline)
            {
                await app.DisposeAsync();
                throw new TimeoutException($"{name} did not answer {readyPath} within 60 s:\n{string.Join('\n', app.Output)}");
            }

            await Task.Delay(200);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (InvalidOperationException)
        {
            // Never started, or already gone.
        }
        finally
        {
            _process.Dispose();
        }
    }

    /// <summary>The app's build output, in the same configuration as this test assembly.</summary>
    private static string BuildOutput(string folder)
    {
        // The tests run from tests/WonderQ.UserApp.Tests/bin/<Configuration>/<Framework>/.
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var framework = testOutput.Name;
        var configuration = testOutput.Parent!.Name;
        var root = testOutput;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "WonderQ.sln")))
        {
            root = root.Parent;
        }

        root.Should().NotBeNull("the tests run inside the repository");
        return Path.Combine(root!.FullName, folder, "bin", configuration, framework);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
