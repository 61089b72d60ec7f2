using System.Diagnostics;
using Npgsql;

namespace WonderQ.Testing;

/// <summary>
/// A PostgreSQL server for the tests of the PostgreSQL store: a throwaway cluster of Debian's PostgreSQL
/// (<c>apt-get install -y postgresql</c>) started once per test process on a free port and removed at its exit, or the
/// server <c>WONDERQ_POSTGRES</c> names (a connection string of a user who may create schemas and roles). Each broker
/// gets a schema of its own (<see cref="CreateSchema"/>), so tests running together never see each other's queues or
/// notifications.
/// </summary>
public static class PostgresServer
{
    private static readonly Lazy<string> _server = new(Start);
    private static readonly List<string> _schemas = [];

    /// <summary>A fresh, empty schema; returns the connection string whose search path names it.</summary>
    public static string CreateSchema()
    {
        var schema = $"t{Guid.NewGuid():N}";
        using (var connection = new NpgsqlConnection(_server.Value))
        {
            connection.Open();
            using var create = new NpgsqlCommand($"CREATE SCHEMA {schema}", connection);
            create.ExecuteNonQuery();
        }

        lock (_schemas)
        {
            _schemas.Add(schema);
        }

        return new NpgsqlConnectionStringBuilder(_server.Value) { SearchPath = schema }.ConnectionString;
    }

    /// <summary>The server's connection string, with no schema of a test's own.</summary>
    public static string ConnectionString => _server.Value;

    private static string Start()
    {
        if (Environment.GetEnvironmentVariable("WONDERQ_POSTGRES") is { Length: > 0 } given)
        {
            // A server of the developer's own keeps nothing of the tests'.
            AppDomain.CurrentDomain.ProcessExit += (_, _) => DropSchemas(given);
            return given;
        }

        var bin = Environment.GetEnvironmentVariable("WONDERQ_POSTGRES_BIN")
            ?? (Directory.Exists("/usr/lib/postgresql")
                ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(Directory.Exists).OrderDescending().FirstOrDefault()
                : null);
        if (bin is null || !File.Exists(Path.Combine(bin, "initdb")))
        {
            throw new InvalidOperationException(
                "The PostgreSQL store's tests need PostgreSQL: run 'apt-get install -y postgresql', or set WONDERQ_POSTGRES to the connection string of a server where they may create schemas and roles.");
        }

        RemoveStoppedClusters();

        // initdb refuses to run as root, so as root the cluster belongs to Debian's postgres user.
        var asRoot = Environment.UserName == "root";
        var directory = Directory.CreateTempSubdirectory("wonderq-postgres-").FullName;
        var data = Path.Combine(directory, "data");
        if (asRoot)
        {
            Run("chown", "postgres:postgres", directory);
        }

        // Nothing here needs to survive a crash of the machine: no syncs, so the tests do not wait on the disk.
        RunAs(asRoot, Path.Combine(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8");

        // A free port can be taken by another process (another test project's) before the server binds it: a few tries.
        var port = 0;
        for (var attempt = 1; port == 0; attempt++)
        {
            var tried = FreePort.Next();
            try
            {
                RunAs(
                    asRoot,
                    Path.Combine(bin, "pg_ctl"),
                    "-D",
                    data,
                    "-w",
                    "-l",
                    Path.Combine(directory, "log"),
                    "-o",
                    $"-p {tried} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400",
                    "start");
                port = tried;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
            }
        }

        // Stopped and removed by a shell of its own, not waited for: the test runner ends its test host moments after the
        // last test, and a cluster it cut short was left behind. (One left anyway goes at the next run: RemoveStoppedClusters.)
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            var stop = $"'{Path.Combine(bin, "pg_ctl")}' -D '{data}' -m immediate -w stop >/dev/null 2>&1; rm -rf '{directory}'";
            var shell = new ProcessStartInfo("setsid") { UseShellExecute = false };
            foreach (var argument in (string[])(asRoot ? ["runuser", "-u", "postgres", "--", "sh", "-c", stop] : ["sh", "-c", stop]))
            {
                shell.ArgumentList.Add(argument);
            }

            try
            {
                Process.Start(shell)?.Dispose();
            }
            catch (System.ComponentModel.Win32Exception)
            {
                // No setsid: the next run removes the cluster.
            }
        };

        return new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = port,
            Database = "postgres",
            Username = "postgres",
        }.ConnectionString;
    }

    /// <summary>
    /// Clusters of earlier test runs whose server is gone: a test host ended before its exit handlers finished leaves
    /// one behind. Not one made in the last minutes, which may be another run's still starting (no server yet).
    /// </summary>
    private static void RemoveStoppedClusters()
    {
        foreach (var left in new DirectoryInfo(Path.GetTempPath()).EnumerateDirectories("wonderq-postgres-*"))
        {
            var pidFile = Path.Combine(left.FullName, "data", "postmaster.pid");
            var serverGone = File.Exists(pidFile)
                ? !(int.TryParse(File.ReadLines(pidFile).FirstOrDefault(), out var pid) && Directory.Exists($"/proc/{pid}"))
                : DateTime.UtcNow - left.CreationTimeUtc > TimeSpan.FromMinutes(10);
            if (serverGone)
            {
                try
                {
                    left.Delete(recursive: true);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    // Another user's, or going away already.
                }
            }
        }
    }

    private static void DropSchemas(string server)
    {
        try
        {
            using var connection = new NpgsqlConnection(server);
            connection.Open();
            lock (_schemas)
            {
                foreach (var schema in _schemas)
                {
                    using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {schema} CASCADE", connection);
                    drop.ExecuteNonQuery();
                }
            }
        }
        catch (NpgsqlException)
        {
            // The server's owner can drop them: their names start with t and a GUID.
        }
    }

    private static void RunAs(bool asRoot, string program, params string[] arguments)
    {
        if (asRoot)
        {
            Run("runuser", ["-u", "postgres", "--", program, .. arguments]);
        }
        else
        {
            Run(program, arguments);
        }
    }

    private static void Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(1)))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} did not finish within a minute.");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} failed: {error.Result}{output.Result}");
        }
    }
}
