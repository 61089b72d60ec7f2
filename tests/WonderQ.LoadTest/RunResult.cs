using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace WonderQ.LoadTest;

/// <summary>One run's figures: printed as a table, or as JSON with <c>--json</c>.</summary>
internal sealed class RunResult(LoadOptions options, TimeSpan elapsed, double throughput, string throughputOf, List<OperationStats> operations)
{
    public static readonly JsonSerializerOptions OutputJson = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        // For scripts and people, never a web page: a server's words in an error keep their quotes unescaped.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public string Scenario { get; } = options.Scenario;

    public string Url { get; } = options.Url.ToString();

    /// <summary>How the hot path spoke to the server: <c>http/1.1</c>, or <c>h2c</c> over <see cref="Http2Connections"/>.</summary>
    public string Transport { get; } = options.Http2Connections > 0 ? "h2c" : "http/1.1";

    public int Http2Connections { get; } = options.Http2Connections;

    public string Queue { get; set; } = "";

    /// <summary>What the run was given: the options every scenario reads, and (from each scenario) those it reads alone.</summary>
    public Dictionary<string, object?> Parameters { get; init; } = CommonParameters(options);

    private static Dictionary<string, object?> CommonParameters(LoadOptions options)
    {
        // Only what this scenario reads: a burst's "messages" or a produce's "visibility_timeout" would read as if it
        // bounded the run.
        var parameters = new Dictionary<string, object?>();
        if (options.Reads("--messages"))
        {
            parameters["messages"] = options.Messages;
        }

        parameters["duration_s"] = options.DurationSeconds;
        if (options.Reads("--visibility-timeout"))
        {
            parameters["visibility_timeout"] = options.VisibilityTimeout;
        }

        return parameters;
    }

    public double ElapsedSeconds { get; } = Math.Round(elapsed.TotalSeconds, 3);

    public double ThroughputMsgsPerSecond { get; } = Math.Round(throughput, 1);

    public string ThroughputOf { get; } = throughputOf;

    public List<OperationStats> Operations { get; } = operations.Where(op => op.Count > 0).ToList();

    public Dictionary<string, long> Errors { get; set; } = [];

    public Dictionary<string, long> Verification { get; } = [];

    [JsonPropertyName("rss_kib")]
    public Dictionary<string, long?> RssKiB { get; } = [];

    public Dictionary<string, object?> Extra { get; init; } = [];

    public List<string> Notes { get; } = [];

    [JsonIgnore]
    public bool ChecksDelivery { get; init; }

    [JsonIgnore]
    public long Lost { get; set; }

    [JsonIgnore]
    public long Duplicates { get; set; }

    /// <summary>Acknowledged, never received, and not countable on a server without <c>GET /queues</c>.</summary>
    [JsonIgnore]
    public long Unverified { get; set; }

    /// <summary>Ended early by Ctrl-C: the figures are of the time before it.</summary>
    public bool Interrupted { get; set; }

    /// <summary>Ctrl-C came before the measured phase began: the figures are zeros, not a measurement.</summary>
    [JsonIgnore]
    public bool InterruptedBeforeMeasuring { get; set; }

    /// <summary>A message lost or delivered twice, a request that failed, or a note of something else gone wrong.</summary>
    [JsonIgnore]
    public bool Failed => Lost > 0 || Duplicates > 0 || Errors.Count > 0 || Notes.Count > 0;

    /// <summary>Only when every acknowledged message is accounted for: a run that cannot tell is not a pass.</summary>
    public bool Passed => !Failed && Unverified == 0;

    public string Result => Failed ? "FAIL" : Unverified > 0 ? "UNVERIFIED" : "PASS";

    /// <summary>
    /// What failed the run, in words: its verdict folds several counts into lost and duplicated, and a reader who sees
    /// "lost=0" beside a FAIL should not have to work out which of the others did it.
    /// </summary>
    public List<string> Failures
    {
        get
        {
            long Count(string key) => Verification.GetValueOrDefault(key);
            var failures = new List<string>();
            void Add(long count, string what)
            {
                if (count > 0)
                {
                    failures.Add(string.Create(CultureInfo.InvariantCulture, $"{what}: {count}"));
                }
            }

            Add(Errors.Values.Sum(), "requests failed");
            Add(Count("lost"), "acknowledged messages lost");
            Add(Count("acknowledged") - Count("distinct_ids"), "sends answered with an id already given to another");
            Add(Count("received_under_another_id"), "messages received under an id other than their send's");
            Add(Count("corrupted"), "messages received with a changed body");
            Add(Count("duplicates"), "messages delivered twice within their visibility timeout");
            Add(Count("received_after_delete"), "messages delivered again after their delete was answered 200");
            Add(Count("extra_in_queue"), "messages in the queue at the end beyond those acknowledged and not deleted");
            failures.AddRange(Notes);
            return failures;
        }
    }

    public string ToJson() => JsonSerializer.Serialize(this, OutputJson);

    /// <summary>
    /// A run that could not be set up, or stopped answering: what it was to be, as a run's JSON says it, and the
    /// <paramref name="error"/>, but no figures, which would read as measured.
    /// </summary>
    public static string NotRunJson(LoadOptions options, string error)
    {
        var run = new RunResult(options, TimeSpan.Zero, 0, "", []);
        return JsonSerializer.Serialize(
            new { run.Scenario, run.Url, run.Transport, run.Http2Connections, run.Parameters, Passed = false, Result = "NOT RUN", Error = error },
            OutputJson);
    }

    public string ToTable()
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(c, $"scenario {Scenario}  url {Url}  queue {Queue}  transport {(Http2Connections > 0 ? $"h2c over {Http2Connections} connections" : Transport)}");
        sb.AppendLine("parameters " + string.Join("  ", Parameters.Select(kv => $"{kv.Key}={Format(kv.Value)}")));
        sb.AppendLine(c, $"elapsed {ElapsedSeconds:0.000} s   throughput {ThroughputMsgsPerSecond:N0} msgs/s ({ThroughputOf})");
        sb.AppendLine();
        sb.AppendLine(c, $"{"operation",-22}{"count",10}{"ops/s",11}{"p50 ms",10}{"p90 ms",10}{"p99 ms",10}{"max ms",10}");
        foreach (var op in Operations)
        {
            sb.AppendLine(c, $"{op.Operation,-22}{op.Count,10}{op.PerSecond,11:N0}{op.P50Ms,10:0.00}{op.P90Ms,10:0.00}{op.P99Ms,10:0.00}{op.MaxMs,10:0.00}");
        }

        sb.AppendLine();
        sb.AppendLine(Errors.Count == 0 ? "errors none" : "errors " + string.Join("; ", Errors.Select(kv => $"{kv.Key}: {kv.Value}")));
        sb.AppendLine("verification " + string.Join("  ", Verification.Select(kv => $"{kv.Key}={kv.Value}")));
        if (RssKiB.Values.Any(v => v is not null) || Extra.Count > 0)
        {
            sb.AppendLine("other " + string.Join("  ", RssKiB.Where(kv => kv.Value is not null).Select(kv => $"rss_{kv.Key}={Format(kv.Value)} KiB")
                .Concat(Extra.Select(kv => $"{kv.Key}={Format(kv.Value)}"))));
        }

        foreach (var note in Notes)
        {
            sb.AppendLine("note " + note);
        }

        if (Interrupted)
        {
            sb.AppendLine("stopped early by Ctrl-C: the figures are of the time before it");
        }

        sb.AppendLine(Result switch
        {
            "PASS" => "result PASS",
            "UNVERIFIED" => $"result UNVERIFIED ({Unverified} acknowledged messages were never received, and the server has no GET /queues to count what it still holds: they may be queued or lost)",
            _ => $"result FAIL ({string.Join("; ", Failures)})",
        });
        return sb.ToString();
    }

    private static string Format(object? value) => value switch
    {
        null => "-",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
