using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.Versioning;
using FluentAssertions;
using static WonderQ.Reliability.Tests.Startup.ScriptSession;

namespace WonderQ.Reliability.Tests.Startup;

/// <summary>
/// run.ps1 in PowerShell 7 (tests/WonderQ.PowerShellHost), with a stand-in for <c>dotnet</c> on the PATH, as
/// <see cref="RunScriptTests"/> runs run.sh: what is tested is the script's starting, prefixing and stopping of the
/// apps. On Linux only, where Ctrl-C can be sent as a terminal sends it; Windows PowerShell 5.1 is not run.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class RunPowerShellScriptTests : IDisposable
{
    private static readonly string _powerShell = Path.Combine(
        RepoPaths.Root, "tests", "WonderQ.PowerShellHost", "bin", RepoPaths.Configuration, "net10.0", "WonderQ.PowerShellHost");

    private readonly TempDatabase _directory = new();

    public void Dispose() => _directory.Dispose();

    [LinuxFact]
    public async Task Ctrl_c_stops_the_three_apps_and_the_script_waits_until_they_are_gone()
    {
        // Each app notes that it runs, and takes a second to stop after Ctrl-C, as the real ones finish their work; its
        // last lines, a burst as a host's shutdown logs are, are still in its pipe when it exits.
        var started = Path.Combine(_directory.Directory, "started");
        using var script = Start($"""
            #!/usr/bin/env bash
            [[ $1 == build ]] && exit 0
            app=$(basename "$1" .dll)
            trap "sleep 1; seq -f \"$app stopping %g\" 500; echo \"$app gone\"; exit 0" INT
            echo "$app" >> '{started}'
            while true; do sleep 0.1; done
            """);
        try
        {
            await Eventually.TrueAsync(() => File.Exists(started) && File.ReadAllLines(started).Length == 3, "the three apps have started");
            Signal("INT", script.Process.Id);

            using var exited = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await script.Process.WaitForExitAsync(exited.Token);
            RunningIn(script.Process.Id).Should().BeEmpty("Ctrl-C stops every app the script started");
            script.Process.ExitCode.Should().Be(130, "as run.sh ends after Ctrl-C");
        }
        finally
        {
            KillAll(script.Process.Id);
        }

        var output = script.Output;
        var stopped = output.IndexOf("WonderQ stopped.", StringComparison.Ordinal);
        stopped.Should().BeGreaterThan(0);
        foreach (var (prefix, app) in new[] { ("broker", "Broker"), ("devtool", "DevTool"), ("userapp", "UserApp") })
        {
            output.IndexOf($"[{prefix}] WonderQ.{app} gone", StringComparison.Ordinal).Should()
                .BeInRange(0, stopped, "the script waits until the {0} is gone before it says so", prefix);
        }
    }

    [LinuxFact]
    public async Task When_one_app_exits_the_script_says_which_and_stops_the_others()
    {
        // The user app fails at once, as on a port in use; the other two would run on.
        var failed = Path.Combine(_directory.Directory, "failed");
        using var script = Start($"""
            #!/usr/bin/env bash
            [[ $1 == build ]] && exit 0
            [[ $1 == *UserApp* ]] && touch '{failed}' && exit 3
            while true; do sleep 0.1; done
            """);
        TimeSpan stopping;
        try
        {
            await Eventually.TrueAsync(() => File.Exists(failed), "the user app has failed");
            var clock = Stopwatch.StartNew();
            using var exited = new CancellationTokenSource(TimeSpan.FromSeconds(40));
            await script.Process.WaitForExitAsync(exited.Token);
            stopping = clock.Elapsed;
            RunningIn(script.Process.Id).Should().BeEmpty("the script stops the apps still running before it ends");
            script.Process.ExitCode.Should().Be(1, "a wrapper tells a failed start from a stop, as from run.sh");
        }
        finally
        {
            KillAll(script.Process.Id);
        }

        // Killed at once: Ctrl-C's way, which gives each app 10 s to end by itself, would take 20 s here. The bound leaves
        // a loaded machine room: the script itself takes about a second.
        stopping.Should().BeLessThan(TimeSpan.FromSeconds(15));
        script.Output.Should().Contain("[userapp] exited with status 3; stopping the others.").And.EndWith("WonderQ stopped.\n");
    }

    [LinuxTheory]
    [InlineData("", "{repo}/data/wonderq.db")]
    [InlineData("mydata/q.db", "{caller}/mydata/q.db")]
    public async Task Each_line_carries_its_apps_name_and_the_broker_gets_the_repositorys_database_unless_told(string configured, string expected)
    {
        // Run from elsewhere, as `../wonderq/run.ps1` is: the default database is the repository's, a relative path is
        // the caller's. Set but empty (a variable of the caller's left unset) counts as not set, as in run.sh.
        var caller = Directory.CreateDirectory(Path.Combine(_directory.Directory, "elsewhere")).FullName;
        using var script = Start("""
            #!/usr/bin/env bash
            [[ $1 == build ]] && exit 0
            echo "arguments: $*"
            echo "logs: $Logging__Console__FormatterName, single line $Logging__Console__FormatterOptions__SingleLine" >&2
            exec sleep 60
            """, caller, ("Storage__Sqlite__Path", configured));
        try
        {
            await Eventually.TrueAsync(
                () => script.Output.Split('\n').Count(line => line.Contains("] logs: ", StringComparison.Ordinal)) == 3,
                "the three apps have started");
            Signal("INT", script.Process.Id);
            using var exited = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await script.Process.WaitForExitAsync(exited.Token);
        }
        finally
        {
            KillAll(script.Process.Id);
        }

        var broker = Path.Combine(script.Root, "Broker", "bin", "Release", "net10.0");
        var database = expected.Replace("{repo}", script.Root, StringComparison.Ordinal).Replace("{caller}", caller, StringComparison.Ordinal);
        var output = script.Output;
        output.Should().Contain($"[broker] arguments: {Path.Combine(broker, "WonderQ.Broker.dll")} --contentRoot {broker} --Storage:Sqlite:Path={database}\n");
        foreach (var app in new[] { "broker", "devtool", "userapp" })
        {
            // Standard error too; and one line an event, so that no line of a multi-line entry goes without the app's name.
            output.Should().Contain($"[{app}] logs: simple, single line true\n");
        }
    }

    [LinuxFact]
    public async Task A_failed_build_starts_no_app_and_ends_with_its_status()
    {
        var started = Path.Combine(_directory.Directory, "started");
        using var script = Start($"""
            #!/usr/bin/env bash
            [[ $1 == build ]] && echo "error CS0029: the build's own words" && exit 4
            touch '{started}'
            """);
        await WaitForExitThenKillAllAsync(script.Process);

        script.Process.ExitCode.Should().Be(4);
        File.Exists(started).Should().BeFalse();
        script.Output.Should().Contain("error CS0029: the build's own words", "a build is quiet only when it succeeds")
            .And.NotContain("WonderQ is starting");
    }

    [LinuxFact]
    public async Task An_argument_is_refused_before_anything_is_built_instead_of_being_ignored()
    {
        var called = Path.Combine(_directory.Directory, "called");
        using var script = StartWith($"""
            #!/usr/bin/env bash
            touch '{called}'
            """, null, ["--Storage:Sqlite:Path=elsewhere.db"], []);
        await WaitForExitThenKillAllAsync(script.Process);

        script.Process.ExitCode.Should().Be(2);
        File.Exists(called).Should().BeFalse("neither a build nor an app runs");
        script.Output.Should().StartWith("run.ps1 takes no arguments").And.Contain("$env:Storage__Sqlite__Path = 'mydata\\q.db'");
    }

    private sealed class Script(Process process, string root) : IDisposable
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public Process Process { get; } = process;

        /// <summary>The repository the script was copied into.</summary>
        public string Root { get; } = root;

        /// <summary>Standard output and error as written so far, a line each.</summary>
        public string Output => string.Concat(_lines.Select(line => line + "\n"));

        public void Take(string? line)
        {
            if (line is not null)
            {
                _lines.Enqueue(line);
            }
        }

        public void Dispose() => Process.Dispose();
    }

    /// <summary>
    /// run.ps1 from a repository of its own (with a DevTool folder, so that it starts all three apps), run from
    /// <paramref name="caller"/>, with <paramref name="dotnet"/> (a bash script) first on the PATH.
    /// </summary>
    private Script Start(string dotnet, string? caller = null, params (string Name, string Value)[] environment) =>
        StartWith(dotnet, caller, [], environment);

    private Script StartWith(string dotnet, string? caller, string[] arguments, (string Name, string Value)[] environment)
    {
        var root = Directory.CreateDirectory(Path.Combine(_directory.Directory, "repo")).FullName;
        Directory.CreateDirectory(Path.Combine(root, "DevTool"));
        var bin = Directory.CreateDirectory(Path.Combine(_directory.Directory, "bin")).FullName;
        File.Copy(Path.Combine(RepoPaths.Root, "run.ps1"), Path.Combine(root, "run.ps1"));
        WriteDotnetStandIn(bin, dotnet);

        // PowerShell through its own executable, not `dotnet host.dll`: .NET looks for a program in the directory of the
        // running executable before the PATH, where it would find the real dotnet before the stand-in. The runtime is
        // found through DOTNET_ROOT instead. A session of its own, and SIGINT as a terminal's foreground has it, for
        // Ctrl-C (see RunScriptTests).
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        var dotnetRoot = path.Split(':').Select(directory => new FileInfo(Path.Combine(directory, "dotnet"))).Where(file => file.Exists)
            .Select(file => Path.GetDirectoryName(file.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? file.FullName)).First();
        var start = new ProcessStartInfo(
            "setsid", ["env", "--default-signal=INT", _powerShell, "-NoLogo", "-NoProfile", "-NonInteractive", "-File", Path.Combine(root, "run.ps1"), .. arguments])
        {
            WorkingDirectory = caller ?? root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["PATH"] = $"{bin}:{path}", ["DOTNET_ROOT"] = dotnetRoot },
        };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var process = new Process { StartInfo = start };
        var script = new Script(process, root);
        process.OutputDataReceived += (_, line) => script.Take(line.Data);
        process.ErrorDataReceived += (_, line) => script.Take(line.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return script;
    }
}
