using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;

namespace WonderQ.Reliability.Tests.Startup;

/// <summary>
/// What the tests of run.sh and run.ps1 share: a stand-in for <c>dotnet</c>, and the session the script leads
/// (started under setsid, so its pid is the session's and its process group's id). Linux's, as /proc is.
/// </summary>
internal static class ScriptSession
{
    /// <summary>Writes <paramref name="script"/> (bash) as an executable <c>dotnet</c> into <paramref name="directory"/>.</summary>
    [SupportedOSPlatform("linux")]
    public static void WriteDotnetStandIn(string directory, string script) => WriteStandIn(directory, "dotnet", script);

    /// <summary>Writes <paramref name="script"/> (bash) as the executable <paramref name="name"/> into <paramref name="directory"/>.</summary>
    [SupportedOSPlatform("linux")]
    public static void WriteStandIn(string directory, string name, string script)
    {
        var path = Path.Combine(directory, name);
        File.WriteAllText(path, script.ReplaceLineEndings("\n"));
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    /// <summary>"pid (name)" of each process in the session, zombies left out.</summary>
    public static List<string> RunningIn(int session)
    {
        var running = new List<string>();
        foreach (var process in Directory.EnumerateDirectories("/proc").Where(path => int.TryParse(Path.GetFileName(path), out _)))
        {
            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(process, "stat"));
            }
            catch (IOException)
            {
                // One that ended meanwhile.
                continue;
            }

            // "pid (name) state ppid pgrp session ...", where the name may hold spaces and parentheses.
            var named = stat.LastIndexOf(')') + 1;
            var fields = stat[(named + 1)..].Split(' ');
            if (fields[0] != "Z" && fields[3] == session.ToString(CultureInfo.InvariantCulture))
            {
                running.Add(stat[..named]);
            }
        }

        return running;
    }

    /// <summary>To the process group the script leads, as a terminal sends Ctrl-C to its foreground group.</summary>
    public static void Signal(string signal, int group)
    {
        using var kill = Process.Start("kill", [$"-{signal}", "--", $"-{group}"])!;
        kill.WaitForExit();
    }

    /// <summary>The script's exit, waited for up to 30 s; whatever its session still runs is killed then, even on a timeout.</summary>
    public static async Task WaitForExitThenKillAllAsync(Process script)
    {
        try
        {
            using var exited = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await script.WaitForExitAsync(exited.Token);
        }
        finally
        {
            KillAll(script.Id);
        }
    }

    /// <summary>Kills whatever the session still runs, so that a failed test leaves no process behind.</summary>
    public static void KillAll(int session)
    {
        if (RunningIn(session).Count > 0)
        {
            Signal("KILL", session);
        }
    }
}

/// <summary>
/// A test of run.sh or run.ps1, run on Linux only: the session and its Ctrl-C need setsid and /proc. On Windows
/// run.ps1 stands in for run.sh, and Windows PowerShell 5.1 is not run.
/// </summary>
public sealed class LinuxFactAttribute : FactAttribute
{
    public LinuxFactAttribute() => Skip = OperatingSystem.IsLinux() ? null : "Linux only: setsid and /proc";
}

/// <inheritdoc cref="LinuxFactAttribute"/>
public sealed class LinuxTheoryAttribute : TheoryAttribute
{
    public LinuxTheoryAttribute() => Skip = OperatingSystem.IsLinux() ? null : "Linux only: setsid and /proc";
}
