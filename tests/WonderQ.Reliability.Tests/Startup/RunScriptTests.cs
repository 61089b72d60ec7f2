using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.Versioning;
using FluentAssertions;
using static WonderQ.Reliability.Tests.Startup.ScriptSession;

namespace WonderQ.Reliability.Tests.Startup;

/// <summary>
/// run.sh itself, with a stand-in for <c>dotnet</c> on the PATH: the script's handling of Ctrl-C is what is tested, and
/// a real build of the solution would overwrite the assemblies these tests run from.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class RunScriptTests : IDisposable
{
    private readonly TempDatabase _directory = new();

    public void Dispose() => _directory.Dispose();

    [LinuxFact]
    public async Task Ctrl_c_during_the_build_stops_the_script_and_starts_no_app()
    {
        var building = Path.Combine(_directory.Directory, "building");
        var started = Path.Combine(_directory.Directory, "started");

        // Like dotnet build, which handles SIGINT itself: it cancels the build, and the exit status may still be 0.
        using var script = StartScript($"""
            #!/usr/bin/env bash
            if [[ $1 == build ]]; then
                sleep 30 > /dev/null 2>&1 &
                trap "echo 'Attempting to cancel the build...'; kill $!; exit 0" INT
                touch '{building}'
                wait
                exit 0
            fi
            echo "$*" >> '{started}'
            sleep 30
            """);
        var output = script.StandardOutput.ReadToEndAsync();
        try
        {
            await Eventually.TrueAsync(() => File.Exists(building), "the build has started");
            Signal("INT", script.Id);

            using var exited = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await script.WaitForExitAsync(exited.Token);
        }
        catch (OperationCanceledException)
        {
            // Still running: the apps have started and it waits for them. Stopped here, and the assertions say so.
        }
        finally
        {
            if (!script.HasExited)
            {
                Signal("KILL", script.Id);
                await script.WaitForExitAsync();
            }
        }

        File.Exists(started).Should().BeFalse("no app starts after Ctrl-C, even when the build ended with status 0");
        script.ExitCode.Should().Be(130);
        (await output).Should().NotContain("WonderQ is starting");
    }

    [LinuxFact]
    public async Task Ctrl_c_just_after_an_app_starts_stops_that_app_too()
    {
        var started = Path.Combine(_directory.Directory, "started");
        // Ctrl-C when the broker runs but the script has yet to note its pid, a moment a busy machine can stretch: bash
        // reads BASH_ENV before the script, and with functrace its DEBUG trap runs before every command, start's too.
        var ctrlC = Path.Combine(_directory.Directory, "ctrl-c.sh");
        File.WriteAllText(ctrlC, $"""
            set -o functrace
            trap 'if [[ $BASH_COMMAND == pids+=* ]]; then trap - DEBUG; until [[ -e "{started}" ]]; do sleep 0.01; done; kill -INT 0; fi' DEBUG
            """.ReplaceLineEndings("\n"));
        using var script = StartScript($"""
            #!/usr/bin/env bash
            [[ $1 == build ]] && exit 0
            touch '{started}'
            exec sleep 60
            """, environment: ("BASH_ENV", ctrlC));
        try
        {
            using var exited = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await script.WaitForExitAsync(exited.Token);

            // The prefixers end a moment after the script, with their apps' last lines; a forgotten app would run 60 s.
            await Eventually.WithinAsync(() => !RunningIn(script.Id).Any(), TimeSpan.FromSeconds(10));
            RunningIn(script.Id).Should().BeEmpty("Ctrl-C stops every app the script has started, noted or not");
            script.ExitCode.Should().Be(130);
        }
        finally
        {
            KillAll(script.Id);
        }
    }

    [LinuxFact]
    public async Task A_failed_build_says_why_starts_no_app_and_ends_with_its_status()
    {
        // The broker builds; the dev tool does not.
        var started = Path.Combine(_directory.Directory, "started");
        using var script = StartScript($"""
            #!/usr/bin/env bash
            [[ $1 == build && $2 == *DevTool* ]] && echo "error CS0029: the build's own words" && exit 4
            [[ $1 == build ]] && echo "Build succeeded." && exit 0
            touch '{started}'
            """);
        var output = script.StandardOutput.ReadToEndAsync();
        await WaitForExitThenKillAllAsync(script);

        script.ExitCode.Should().Be(4);
        File.Exists(started).Should().BeFalse();
        var written = await output;
        written.Should().Contain("error CS0029: the build's own words", "a build is quiet only when it succeeds")
            .And.NotContain("Build succeeded.").And.NotContain("WonderQ is starting");
    }

    [LinuxFact]
    public async Task Ctrl_c_while_the_others_stop_after_one_app_failed_waits_until_they_are_gone()
    {
        // The user app fails at once, as on a port in use; the broker takes a second to shut down.
        var stopping = Path.Combine(_directory.Directory, "stopping");
        using var script = StartScript($"""
            #!/usr/bin/env bash
            [[ $1 == build ]] && exit 0
            [[ $1 == *UserApp* ]] && exit 1
            trap "touch '{stopping}'; sleep 1; echo gone; exit 0" TERM
            while true; do sleep 0.1; done
            """);
        var output = script.StandardOutput.ReadToEndAsync();
        try
        {
            await Eventually.TrueAsync(() => File.Exists(stopping), "the script stops the broker");
            Signal("INT", script.Id);

            using var exited = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await script.WaitForExitAsync(exited.Token);

            var written = await output;
            written.Should().Contain("[broker] gone").And.Contain("WonderQ stopped.");
            written.IndexOf("[broker] gone", StringComparison.Ordinal).Should()
                .BeLessThan(written.IndexOf("WonderQ stopped.", StringComparison.Ordinal), "the script waits until the broker is gone");
            script.ExitCode.Should().Be(1, "the stop under way ends as it would have, for the app that failed");
        }
        finally
        {
            KillAll(script.Id);
        }
    }

    [LinuxFact]
    public async Task The_start_banner_names_no_port_the_apps_may_not_listen_on()
    {
        // Apps whose appsettings.json moved them off the default ports (the broker and the user app: this repository
        // has no DevTool folder).
        var started = Path.Combine(_directory.Directory, "started");
        using var script = StartScript($"""
            #!/usr/bin/env bash
            [[ $1 == build ]] && exit 0
            port=4000; [[ $1 == *UserApp* ]] && port=4002
            echo "Now listening on: http://localhost:$port"
            echo "$*" >> '{started}'
            exec sleep 60
            """);
        var output = script.StandardOutput.ReadToEndAsync();
        await InterruptOnceStartedAsync(script, started);

        var written = await output;
        written.Should().Contain("[userapp] Now listening on: http://localhost:4002");
        written.Split('\n').Should().ContainSingle(line => line.StartsWith("WonderQ is starting", StringComparison.Ordinal))
            .Which.Should().NotMatchRegex(@":\d", "only the apps know their addresses, and each logs its own");
    }

    [LinuxFact]
    public async Task A_long_log_line_is_written_whole_and_without_holding_its_app_back()
    {
        // The user app logs each body it reads, up to 256 KiB: read from the pipe a byte at a time, each such line took
        // the prefixer half a second, and a listener printing them was held to two messages a second.
        var started = Path.Combine(_directory.Directory, "started");
        using var script = StartScript($"""
            #!/usr/bin/env bash
            [[ $1 == build ]] && exit 0
            if [[ $1 == *UserApp* ]]; then
                body=$(head -c 262144 /dev/zero | tr '\0' x)
                for i in $(seq 40); do echo "$body"; done
            fi
            echo "$*" >> '{started}'
            exec sleep 60
            """);
        var line = "[userapp] " + new string('x', 262144);
        var lines = new ConcurrentQueue<string>();
        var reading = ReadLinesAsync(script, lines);
        var writing = Stopwatch.StartNew();
        await Eventually.TrueAsync(() => File.Exists(started) && File.ReadAllLines(started).Length == 2, "the apps have started and written");
        var written = writing.Elapsed;
        // Its app has written them when it notes that it started, but the prefixer may still be writing the last: a Ctrl-C
        // then put "Stopping WonderQ..." in the middle of it.
        await Eventually.TrueAsync(() => lines.Count(read => read == line) == 40, "the 40 lines have been written whole");
        await InterruptOnceStartedAsync(script, started);
        await reading;

        written.Should().BeLessThan(TimeSpan.FromSeconds(8), "40 lines of 256 KiB pass in well under a second");
        lines.Count(read => read == line).Should().Be(40);
    }

    [LinuxTheory]
    [InlineData("INT", 130)]
    // A closed terminal sends SIGHUP to the script, its apps and its prefixers at once: a prefixer that ended on it
    // took its app's shutdown lines with it, and a script without a trap for it stopped nothing.
    [InlineData("HUP", 129)]
    public async Task The_apps_last_lines_are_written_before_the_script_says_they_have_stopped(string signal, int exitCode)
    {
        // Each app logs as it shuts down, and its prefixer copies a second behind, as on a busy machine: the script used
        // to allow it 0.2 s, say "WonderQ stopped." and end, and the lines came after that, or not at all to a reader that
        // stops with the script.
        var started = Path.Combine(_directory.Directory, "started");
        var bin = Directory.CreateDirectory(Path.Combine(_directory.Directory, "bin")).FullName;
        WriteStandIn(bin, "perl", """
            #!/usr/bin/env bash
            sleep 1
            PATH=${PATH#*:} exec perl "$@"
            """);
        using var script = StartScript($"""
            #!/usr/bin/env bash
            [[ $1 == build ]] && exit 0
            app=$(basename "$1" .dll)
            trap 'echo "$app stopping"; echo "$app gone"; exit 0' TERM HUP
            echo "$*" >> '{started}'
            while true; do sleep 0.1; done
            """);
        var output = script.StandardOutput.ReadToEndAsync();
        await InterruptOnceStartedAsync(script, started, signal);

        var written = await output;
        var stopped = written.IndexOf("WonderQ stopped.", StringComparison.Ordinal);
        stopped.Should().BeGreaterThan(0, written);
        foreach (var line in new[] { "[broker] WonderQ.Broker stopping", "[broker] WonderQ.Broker gone", "[userapp] WonderQ.UserApp stopping", "[userapp] WonderQ.UserApp gone" })
        {
            written.IndexOf(line, StringComparison.Ordinal).Should().BeInRange(0, stopped, "the script says the apps have stopped once their last lines are out");
        }

        script.ExitCode.Should().Be(exitCode);
    }

    [LinuxTheory]
    [InlineData("", "{repo}/data/wonderq.db")]
    [InlineData("mydata/q.db", "{caller}/mydata/q.db")]
    [InlineData("/srv/q.db", "/srv/q.db")]
    [InlineData(":memory:", ":memory:")]
    public async Task The_broker_gets_the_repositorys_database_unless_told_and_a_relative_path_from_where_the_script_runs(string configured, string expected)
    {
        // Run from elsewhere, as `../wonderq/run.sh` is. Set but empty (a variable of the caller's left unset) counts as
        // not set; :memory: goes to the broker as given, for it to refuse with its reason.
        var caller = Directory.CreateDirectory(Path.Combine(_directory.Directory, "elsewhere")).FullName;
        var started = Path.Combine(_directory.Directory, "started");
        using var script = StartScript($"""
            #!/usr/bin/env bash
            [[ $1 == build ]] && exit 0
            echo "$*" >> '{started}'
            exec sleep 60
            """, caller, ("Storage__Sqlite__Path", configured));
        await InterruptOnceStartedAsync(script, started);

        var database = expected.Replace("{repo}", Path.Combine(_directory.Directory, "repo"), StringComparison.Ordinal)
            .Replace("{caller}", caller, StringComparison.Ordinal);
        File.ReadAllLines(started).Should().ContainSingle(line => line.Contains("WonderQ.Broker.dll", StringComparison.Ordinal))
            .Which.Should().EndWith($" --Storage:Sqlite:Path={database}");
    }

    [LinuxFact]
    public async Task An_argument_is_refused_before_anything_is_built_instead_of_being_ignored()
    {
        var called = Path.Combine(_directory.Directory, "called");
        using var script = StartScriptWith($"""
            #!/usr/bin/env bash
            touch '{called}'
            """, null, ["--Storage:Sqlite:Path=elsewhere.db"], []);
        var errors = script.StandardError.ReadToEndAsync();
        await WaitForExitThenKillAllAsync(script);

        script.ExitCode.Should().Be(2);
        File.Exists(called).Should().BeFalse("neither a build nor an app runs");
        (await errors).Should().StartWith("run.sh takes no arguments").And.Contain("Storage__Sqlite__Path=mydata/q.db ./run.sh");
    }

    /// <summary>
    /// run.sh from a repository of its own, with <paramref name="dotnet"/> (a bash script) first on the PATH for the
    /// <c>dotnet</c> it builds and runs with, run from <paramref name="caller"/> (by default the tests' own directory).
    /// </summary>
    private Process StartScript(string dotnet, string? caller = null, params (string Name, string Value)[] environment) =>
        StartScriptWith(dotnet, caller, [], environment);

    private Process StartScriptWith(string dotnet, string? caller, string[] arguments, (string Name, string Value)[] environment)
    {
        var root = Directory.CreateDirectory(Path.Combine(_directory.Directory, "repo")).FullName;
        var bin = Directory.CreateDirectory(Path.Combine(_directory.Directory, "bin")).FullName;
        File.Copy(Path.Combine(RepoPaths.Root, "run.sh"), Path.Combine(root, "run.sh"));
        WriteDotnetStandIn(bin, dotnet);

        // A session of its own, so that Ctrl-C can be sent as a terminal sends it: to the whole foreground group. A
        // test host started in the background of a script (`dotnet test &`) has SIGINT ignored, and passes that on; a
        // shell cannot trap a signal ignored when it starts, so Ctrl-C would go unheard: env gives the script SIGINT
        // as a terminal's foreground gives it.
        var start = new ProcessStartInfo("setsid", ["env", "--default-signal=INT", "bash", Path.Combine(root, "run.sh"), .. arguments])
        {
            WorkingDirectory = caller ?? "",
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["PATH"] = $"{bin}:{Environment.GetEnvironmentVariable("PATH")}" },
        };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        return Process.Start(start)!;
    }

    private static async Task ReadLinesAsync(Process script, ConcurrentQueue<string> lines)
    {
        while (await script.StandardOutput.ReadLineAsync() is { } line)
        {
            lines.Enqueue(line);
        }
    }

    /// <summary>Once the stand-in has started two apps (a line each in <paramref name="started"/>), a Ctrl-C (or <paramref name="signal"/>), and the script's exit.</summary>
    private static async Task InterruptOnceStartedAsync(Process script, string started, string signal = "INT")
    {
        try
        {
            await Eventually.TrueAsync(() => File.Exists(started) && File.ReadAllLines(started).Length == 2, "the apps have started");
            Signal(signal, script.Id);
            using var exited = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await script.WaitForExitAsync(exited.Token);
        }
        finally
        {
            KillAll(script.Id);
        }
    }
}
