using System.Globalization;

namespace WonderQ.LoadTest;

/// <summary>Command-line options. Every scenario is bounded by <see cref="Messages"/> and <see cref="Duration"/>.</summary>
internal sealed class LoadOptions
{
    public const string Usage = """
        WonderQ load test: drives any server speaking the WonderQ broker API.

        usage: dotnet run -c Release --project tests/WonderQ.LoadTest -- <scenario> [options]
               ... <scenario> --url A --url B [--rounds N] [options]   (side by side: the same scenario on each in turn)

        scenarios:
          produce       --producers P concurrent producers POST messages of --body-bytes B
          consume       pre-fill N messages, then --consumers C drain them with --batch k, deleting each by token
          cycle         producers and consumers at once: sustained send -> receive -> delete
          latency       one producer at --rate R/s, --consumers C long-polling (wait_time 20): publish-to-receive latency
          idle-waiters  --waiters N long-polls held open (wait_time 20) while a producer sends at --rate R/s
          burst         --concurrency N simultaneous POST /messages in one burst; all must be acknowledged

        options (--name value or --name=value), for every scenario:
          --url U                 broker base URL, plain http (default http://127.0.0.1:3213), with a path for a
                                  broker behind a prefix (http://host:port/wq); no query; give it again for
                                  each further server to measure side by side
          --rounds N              run the scenario N times on each server, in turns (default 1); a summary compares
                                  each server's median throughput with the first's
          --duration S            stop after S seconds (default 10), or at --messages, whichever comes first; a
                                  burst is given up S + 60 s after it started
          --body-bytes B          message body size in bytes (default 1024; latency/idle-waiters 64)
          --queue NAME            use (or create) this queue instead of a fresh uniquely-named one, and keep it;
                                  messages of others in it are deleted when received, and not counted
          --keep-queue            do not delete the queue at the end
          --http2 N               speak HTTP/2 without TLS (h2c, for the broker's h2c port) over N connections that
                                  every producer and consumer shares, 100 requests at once on each (default: HTTP/1.1,
                                  a connection per request in flight); with several --url, once for all or once for
                                  each in the same order, 0 for one that speaks HTTP/1.1
          --broker-pid PID        report the broker's VmRSS and CPU from /proc/PID; with several --url, once for each,
                                  in the same order
          --json                  print a machine-readable result instead of the table
          --quiet                 no progress on stderr

        for some scenarios only (any other refuses them):
          --messages N            all but burst: stop after N messages (default produce/cycle/latency/idle-waiters
                                  1000000, consume 20000)
          --warmup S              all but burst: first run the same scenario for S seconds on a throwaway queue,
                                  unmeasured, so the broker's and this tool's code is compiled to its steady state
                                  (default 0)
          --producers P           produce, cycle: concurrent producers (default 64; cycle 32)
          --consumers C           consume, cycle, latency: concurrent consumers (default 16; latency 8)
          --batch k               consume, cycle, latency, idle-waiters: consume size 1-100 (default 10;
                                  latency/idle-waiters 1)
          --visibility-timeout S  consume, cycle, latency, idle-waiters: visibility_timeout on consume (default 60)
          --wait-time S           consume, cycle: wait_time (default 1; latency/idle-waiters always wait 20)
          --fill-concurrency N    consume: concurrent producers for the pre-fill (default 64), which must be done
                                  30 s after the run's start
          --no-fill               consume: do not pre-fill; drain --messages from what --queue NAME holds
          --rate R                latency, idle-waiters: messages per second (default 50 / 10)
          --waiters N             idle-waiters: concurrent long polls (default 10000)
          --ramp R                idle-waiters: open at most R long polls per second (default 2000); the ramp,
                                  --waiters / --ramp, may take at most 20 s
          --concurrency N         burst: simultaneous requests (default 5000)
          --warm                  burst: open the connections (GET /healthz) before the burst

        Ctrl-C ends the run early and still reports it; a second Ctrl-C quits at once.

        exit code: 0 all good; 1 a request errored, a message was lost or delivered twice; 2 bad usage, or setup failure
        (with --json a JSON document still, its "error" saying what failed); 3 no failure, but some acknowledged
        messages were never received and the server cannot count its queue (no GET /queues), so they may be queued or
        lost; 130 stopped by Ctrl-C, nothing failed.
        """;

    public required string Scenario { get; init; }

    /// <summary>The server this run measures: the first of <see cref="Urls"/> until <see cref="ForServer"/>.</summary>
    public Uri Url { get; private set; } = new("http://127.0.0.1:3213");

    /// <summary>Every server to measure, in the order given.</summary>
    public IReadOnlyList<Uri> Urls { get; private set; } = [];

    public IReadOnlyList<int> BrokerPids { get; private set; } = [];

    public int Rounds { get; private set; } = 1;

    public long Messages { get; private set; }
    public double DurationSeconds { get; private set; } = 10;
    public double WarmupSeconds { get; private set; }
    public int Producers { get; private set; }
    public int Consumers { get; private set; }
    public int Batch { get; private set; }
    public int BodyBytes { get; private set; }
    public double Rate { get; private set; }
    public int Waiters { get; private set; } = 10_000;
    public int Concurrency { get; private set; } = 5_000;
    public double Ramp { get; private set; } = 2_000;
    public bool Warm { get; private set; }
    public int VisibilityTimeout { get; private set; } = 60;
    public int WaitTime { get; private set; } = 1;
    public int FillConcurrency { get; private set; } = 64;
    public string? Queue { get; private set; }
    public bool NoFill { get; private set; }
    public bool KeepQueue { get; private set; }
    public int? BrokerPid { get; private set; }

    /// <summary>The HTTP/2 connections of the server this run measures; 0 speaks HTTP/1.1.</summary>
    public int Http2Connections { get; private set; }

    /// <summary>Each server's <see cref="Http2Connections"/>, in the order of <see cref="Urls"/> (empty: all HTTP/1.1).</summary>
    public IReadOnlyList<int> Http2ByServer { get; private set; } = [];

    public bool Json { get; private set; }
    public bool Quiet { get; private set; }

    public TimeSpan Duration => TimeSpan.FromSeconds(DurationSeconds);

    public static readonly string[] Scenarios = ["produce", "consume", "cycle", "latency", "idle-waiters", "burst"];

    /// <summary>
    /// The options only some scenarios read, and which: given to another, one would look as if it took effect. The
    /// rest (--url, --duration, --queue, --http2, ...) apply to every scenario.
    /// </summary>
    private static readonly Dictionary<string, string[]> _readBy = new()
    {
        ["--messages"] = ["produce", "consume", "cycle", "latency", "idle-waiters"],
        ["--warmup"] = ["produce", "consume", "cycle", "latency", "idle-waiters"],
        ["--producers"] = ["produce", "cycle"],
        ["--consumers"] = ["consume", "cycle", "latency"],
        ["--batch"] = ["consume", "cycle", "latency", "idle-waiters"],
        ["--visibility-timeout"] = ["consume", "cycle", "latency", "idle-waiters"],
        ["--wait-time"] = ["consume", "cycle"],
        ["--fill-concurrency"] = ["consume"],
        ["--no-fill"] = ["consume"],
        ["--rate"] = ["latency", "idle-waiters"],
        ["--waiters"] = ["idle-waiters"],
        ["--ramp"] = ["idle-waiters"],
        ["--concurrency"] = ["burst"],
        ["--warm"] = ["burst"],
    };

    /// <summary>Whether <see cref="Scenario"/> reads <paramref name="option"/> (one of the options only some scenarios read).</summary>
    public bool Reads(string option) => _readBy[option].Contains(Scenario);

    /// <summary>Parses the arguments; throws <see cref="ArgumentException"/> with a message for the user.</summary>
    public static LoadOptions Parse(string[] args) => Parse(args, OpenFileLimit());

    /// <param name="openFileLimit">The files this process may have open (<c>ulimit -n</c>); null: no limit known.</param>
    internal static LoadOptions Parse(string[] args, long? openFileLimit)
    {
        if (args.Length == 0 || !Scenarios.Contains(args[0]))
        {
            var scenarios = $"{string.Join(", ", Scenarios[..^1])} or {Scenarios[^1]}";
            throw new ArgumentException(
                args.Length == 0 ? $"Name a scenario: {scenarios}."
                // Options first, as many tools take them, read as a scenario called "--url".
                : args.FirstOrDefault(Scenarios.Contains) is { } named ? $"The scenario comes first, then its options: {named} --url ...; got '{args[0]}' first."
                : args[0].StartsWith('-') ? $"Name a scenario first, then its options: {scenarios}; got '{args[0]}'."
                : $"Unknown scenario '{args[0]}': the scenarios are {scenarios}.");
        }

        var scenario = args[0];
        var o = new LoadOptions
        {
            Scenario = scenario,
            Messages = DefaultMessages(scenario),
            Producers = scenario == "cycle" ? 32 : 64,
            Consumers = scenario == "latency" ? 8 : 16,
            Batch = scenario is "latency" or "idle-waiters" ? 1 : 10,
            BodyBytes = scenario is "latency" or "idle-waiters" ? 64 : 1024,
            Rate = scenario == "idle-waiters" ? 10 : 50,
        };
        List<Uri> urls = [];
        List<int> pids = [];
        List<int> http2 = [];
        HashSet<string> given = [];
        for (var i = 1; i < args.Length; i++)
        {
            var arg = args[i];
            // "--name=value" splits at the first '=' only: a value may hold one too.
            var equals = arg.StartsWith("--", StringComparison.Ordinal) ? arg.IndexOf('=', StringComparison.Ordinal) : -1;
            var name = equals > 0 ? arg[..equals] : arg;
            var inline = equals > 0 ? arg[(equals + 1)..] : null;
            string Value() => inline is { Length: > 0 } ? inline
                // An option after it means this one's value was left out, not that the option is its value.
                : inline is null && i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i]
                : throw new ArgumentException($"{name} needs a value.");

            // A switch given a value ("--warm=false") would otherwise be taken as set.
            bool Switch() => inline is null ? true : throw new ArgumentException($"{name} takes no value; got '{arg}'.");

            int Int(int min, int max)
            {
                var text = Value();
                return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max
                    ? v
                    : throw new ArgumentException($"{name} must be a whole number from {min} to {max}; got '{text}'.");
            }

            double Num(double min, double max)
            {
                var text = Value();
                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max
                    ? v
                    : throw new ArgumentException($"{name} must be a number from {min} to {max}; got '{text}'.");
            }

            // Only a server's own options repeat (one for each --url); any other given twice, say a --producers added
            // at the end of a pasted command line, would have taken the last value and dropped the first unseen.
            if (name.StartsWith("--", StringComparison.Ordinal) && name is not ("--url" or "--broker-pid" or "--http2") && !given.Add(name))
            {
                throw new ArgumentException($"{name} is given twice: give it once (only --url, --broker-pid and --http2 repeat, once for each server).");
            }

            if (_readBy.TryGetValue(name, out var readers) && !readers.Contains(scenario))
            {
                throw new ArgumentException(
                    $"{name} does not apply to {scenario}; it applies to {string.Join(", ", readers)}."
                    + (name == "--warmup" ? " A burst is measured once: --warm opens its connections first." : ""));
            }

            switch (name)
            {
                case "--url":
                    var url = Value();
                    var parsed = Uri.TryCreate(url.TrimEnd('/') + "/", UriKind.Absolute, out var u) && u.Scheme is "http" or "https"
                        ? u
                        : throw new ArgumentException($"--url must be an absolute http URL; got '{url}'.");
                    if (parsed.Scheme == Uri.UriSchemeHttps)
                    {
                        // The hot path is a minimal plain-HTTP/1.1 client (README, "Transport").
                        throw new ArgumentException($"--url must be a plain http URL: the load test does not speak TLS; got '{url}'.");
                    }

                    if (parsed.Query.Length > 0 || parsed.Fragment.Length > 0 || parsed.UserInfo.Length > 0)
                    {
                        // Each request makes its own query, and the broker refuses a parameter it does not read: a
                        // query, a fragment or a user name would have been dropped without a word. A path is kept.
                        throw new ArgumentException(
                            $"--url must be the broker's base URL, http://host:port or http://host:port/prefix, without a query, a fragment or a user name; got '{url}'.");
                    }

                    urls.Add(parsed);
                    break;
                case "--messages": o.Messages = Int(1, int.MaxValue); break;
                case "--duration": o.DurationSeconds = Num(0.1, 3600); break;
                case "--warmup": o.WarmupSeconds = Num(0, 600); break;
                case "--producers": o.Producers = Int(1, 10_000); break;
                case "--consumers": o.Consumers = Int(1, 10_000); break;
                case "--batch": o.Batch = Int(1, 100); break;
                case "--body-bytes": o.BodyBytes = Int(48, 256 * 1024); break;
                case "--rate": o.Rate = Num(0.1, 100_000); break;
                case "--waiters": o.Waiters = Int(1, 60_000); break;
                case "--concurrency": o.Concurrency = Int(1, 60_000); break;
                case "--ramp": o.Ramp = Num(100, 1_000_000); break;
                case "--warm": o.Warm = Switch(); break;
                case "--visibility-timeout": o.VisibilityTimeout = Int(0, 43_200); break;
                case "--wait-time": o.WaitTime = Int(0, 20); break;
                case "--fill-concurrency": o.FillConcurrency = Int(1, 10_000); break;
                case "--queue": o.Queue = Value(); break;
                case "--no-fill": o.NoFill = Switch(); break;
                case "--keep-queue": o.KeepQueue = Switch(); break;
                case "--broker-pid":
                    var pid = Int(1, int.MaxValue);
                    // Its VmRSS and CPU would otherwise be silently left out of the result.
                    pids.Add(Directory.Exists($"/proc/{pid}") ? pid : throw new ArgumentException($"--broker-pid {pid}: there is no such process (in /proc)."));
                    break;
                case "--rounds": o.Rounds = Int(1, 100); break;
                case "--http2": http2.Add(Int(0, 1_000)); break;
                case "--json": o.Json = Switch(); break;
                case "--quiet": o.Quiet = Switch(); break;
                default: throw new ArgumentException($"Unknown option '{name}'.");
            }
        }

        if (pids.Count > 0 && pids.Count != Math.Max(1, urls.Count))
        {
            throw new ArgumentException(
                $"Give --broker-pid once for each --url, in the same order, or not at all; got {pids.Count} for {Math.Max(1, urls.Count)}.");
        }

        if (o.NoFill && o.Queue is null)
        {
            // The run's own queue is new and empty: it would measure nothing and call that a pass.
            throw new ArgumentException("--no-fill drains a queue that already holds messages: name it with --queue NAME.");
        }

        if (o.Scenario == "idle-waiters" && o.Waiters / o.Ramp > MaxRampSeconds)
        {
            // Past the hard limit the ramp's long polls were cut off and the run blamed the server.
            throw new ArgumentException(string.Create(
                CultureInfo.InvariantCulture,
                $"--waiters {o.Waiters} at --ramp {o.Ramp:0.#} per second is a ramp of {o.Waiters / o.Ramp:0.#} s, and it may take at most {MaxRampSeconds} s: the ramp and the wait for its connections must be done {Run.PreparationLimit.TotalSeconds:0} s after the run's start, so that the run fits its bound (--duration and a minute more). Ask for fewer --waiters or a higher --ramp."));
        }

        var servers = Math.Max(1, urls.Count);
        if (http2.Count > 1 && http2.Count != servers)
        {
            throw new ArgumentException(
                $"Give --http2 once for every --url, or once for each in the same order (0 for HTTP/1.1); got {http2.Count} for {servers}.");
        }

        o.Urls = urls.Count > 0 ? urls : [o.Url];
        o.BrokerPids = pids;
        o.Http2ByServer = http2.Count == 1 ? [.. Enumerable.Repeat(http2[0], servers)] : http2;
        foreach (var connections in o.Http2ByServer)
        {
            o.Http2Connections = connections;
            o.CheckHttp2Connections();
        }

        for (var server = 0; server < servers; server++)
        {
            o.ForServer(server).CheckOpenFiles(openFileLimit);
        }

        o = o.ForServer(0);

        return o;
    }

    /// <summary>
    /// The longest <c>idle-waiters</c> ramp (<c>--waiters / --ramp</c>): it leaves its connections 10 s of the run's
    /// <see cref="Run.PreparationLimit"/> to be established.
    /// </summary>
    internal const int MaxRampSeconds = 20;

    /// <summary>
    /// The descriptors the runtime holds besides the run's connections: two for each assembly it loads, its pipes and
    /// epoll (about 90 measured), and the setup calls' connections.
    /// </summary>
    internal const int RuntimeFiles = 128;

    /// <summary>
    /// A socket past the process's open-file limit is not an error the run could count: the .NET runtime then fails to
    /// start a thread and aborts the process ("Out of memory.", exit code 134), with no report and the queue left behind.
    /// </summary>
    private void CheckOpenFiles(long? openFileLimit)
    {
        var connections = Http2Connections > 0 ? Http2Connections : ConnectionLimit;
        if (openFileLimit is { } limit && connections + RuntimeFiles > limit)
        {
            throw new ArgumentException(string.Create(
                CultureInfo.InvariantCulture,
                $"{Scenario} may open {connections:N0} connections at once, and this process may have only {limit:N0} files open (ulimit -n), about {RuntimeFiles} of them the runtime's: ask for fewer, or raise ulimit -n (README, \"Limits on this machine\")."));
        }
    }

    /// <summary>The soft limit on open files from /proc/self/limits; null where there is none or it cannot be read.</summary>
    private static long? OpenFileLimit()
    {
        try
        {
            var line = File.ReadLines("/proc/self/limits").FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
            var soft = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries).ElementAtOrDefault(3);
            return long.TryParse(soft, NumberStyles.None, CultureInfo.InvariantCulture, out var limit) ? limit : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private void CheckHttp2Connections()
    {
        if (Http2Connections > 0 && ConnectionLimit > Http2Connections * BrokerClient.StreamsPerConnection)
        {
            var needed = (ConnectionLimit + BrokerClient.StreamsPerConnection - 1) / BrokerClient.StreamsPerConnection;
            throw new ArgumentException(
                $"{Scenario} may have {ConnectionLimit} requests in flight: over HTTP/2 that takes --http2 {needed} or more " +
                $"({BrokerClient.StreamsPerConnection} on each connection).");
        }
    }

    /// <summary>
    /// The same scenario for the warm-up's seconds, quietly, on a fresh queue of its own that it deletes. Its message
    /// budget is at most the scenario's default: <c>consume</c>'s pre-fill has only <see cref="Run.PreparationLimit"/>, and a drain of a
    /// 1M-message backlog (<c>--no-fill --messages 1000000</c>) must not warm up by first filling a million.
    /// </summary>
    public LoadOptions ForWarmUp()
    {
        var warmUp = (LoadOptions)MemberwiseClone();
        warmUp.DurationSeconds = WarmupSeconds;
        warmUp.Messages = Math.Min(Messages, DefaultMessages(Scenario));
        warmUp.WarmupSeconds = 0;
        warmUp.Queue = null;
        warmUp.NoFill = false;
        warmUp.KeepQueue = false;
        warmUp.Quiet = true;
        return warmUp;
    }

    /// <summary>The same options aimed at the <paramref name="index"/>th server of <see cref="Urls"/>, and its broker's pid.</summary>
    public LoadOptions ForServer(int index)
    {
        var server = (LoadOptions)MemberwiseClone();
        server.Url = Urls[index];
        server.BrokerPid = BrokerPids.Count > 0 ? BrokerPids[index] : null;
        server.Http2Connections = Http2ByServer.Count > 0 ? Http2ByServer[index] : 0;
        return server;
    }

    private static long DefaultMessages(string scenario) => scenario == "consume" ? 20_000 : 1_000_000;

    /// <summary>
    /// The hot-path requests (send, consume, delete, <c>burst --warm</c>'s) the scenario may have in flight at once: the
    /// connections it may open over HTTP/1.1, and the streams it needs over HTTP/2.
    /// </summary>
    /// <remarks>
    /// No spare for the setup calls: they go over an HttpClient of their own, not these connections or streams (a spare
    /// of 4 refused <c>burst --concurrency 5000 --http2 50</c> for wanting 51), and its connection is among
    /// <see cref="RuntimeFiles"/>. <c>latency</c> and <c>idle-waiters</c> keep 64 for the deletes and sends that go out
    /// while every consumer holds a long poll.
    /// </remarks>
    public int ConnectionLimit => Scenario switch
    {
        "produce" => Producers,
        "consume" => Math.Max(FillConcurrency, Consumers * (Batch + 1)),
        "cycle" => Producers + (Consumers * (Batch + 1)),
        "latency" => Consumers + 64,
        "idle-waiters" => Waiters + 64,
        "burst" => Concurrency,
        _ => 64,
    };
}
