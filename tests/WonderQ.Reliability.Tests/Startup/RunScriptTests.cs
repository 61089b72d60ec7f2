using System.Diagnostics;
using FluentAssertions;

namespace WonderQ.Reliability.Tests.Startup;

/// <summary>
/// run.sh itself, with a stand-in for <c>dotnet</c> on the PATH: the script's handling of Ctrl-C is what is tested, and
/// a real build of the solution would overwrite the assemblies these tests run from.
/// </summary>
public sealed class RunScriptTests : IDisposable
{
    private readonly TempDatabase _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Ctrl_c_during_the_build_stops_the_script_and_starts_no_app()
    {
        // run.sh is the Unix script (setsid is Linux's); run.ps1 stands in for it on Windows.
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var root = Directory.CreateDirectory(Path.Combine(_directory.Directory, "repo")).FullName;
        var bin = Directory.CreateDirectory(Path.Combine(_directory.Directory, "bin")).FullName;
        File.Copy(Path.Combine(RepoPaths.Root, "run.sh"), Path.Combine(root, "run.sh"));
        var building = Path.Combine(_directory.Directory, "building");
        var started = Path.Combine(_directory.Directory, "started");

        // Like dotnet build, which handles SIGINT itself: it cancels the build, and the exit status may still be 0.
        var dotnet = Path.Combine(bin, "dotnet");
        File.WriteAllText(dotnet, $"""
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
            """.ReplaceLineEndings("\n"));
        File.SetUnixFileMode(dotnet, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        // A session of its own, so that Ctrl-C can be sent as a terminal sends it: to the whole foreground group. A
        // test host started in the background of a script (`dotnet test &`) has SIGINT ignored, and passes that on; a
        // shell cannot trap a signal ignored when it starts, so Ctrl-C would go unheard: env gives the script SIGINT
        // as a terminal's foreground gives it.
        var start = new ProcessStartInfo("setsid", ["env", "--default-signal=INT", "bash", Path.Combine(root, "run.sh")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["PATH"] = $"{bin}:{Environment.GetEnvironmentVariable("PATH")}" },
        };
        using var script = Process.Start(start)!;
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

    /// <summary>To the process group the script leads (setsid made its pid the group's id).</summary>
    private static void Signal(string signal, int group)
    {
        using var kill = Process.Start("kill", [$"-{signal}", "--", $"-{group}"])!;
        kill.WaitForExit();
    }
}
