using System.Globalization;
using System.Text;
using System.Text.Json;

namespace WonderQ.LoadTest;

/// <summary>
/// Several servers measured with the same scenario, compared by their median throughput: on a noisy machine the
/// ratio to a reference measured in the same minutes (bare Kestrel, another implementation of the API) says more than
/// either figure alone.
/// </summary>
internal static class SideBySide
{
    public sealed record Row(
        string Url,
        string Transport,
        IReadOnlyList<double> MsgsPerSecond,
        double? MedianMsgsPerSecond,
        double? RatioToFirst,
        string? Latency,
        double? P50Ms,
        double? P99Ms,
        double? BrokerCpuUsPerMsg,
        double? LoadgenCpuUsPerMsg,
        bool Passed,
        string Result);

    /// <summary>
    /// One row a server, in the order of <see cref="LoadOptions.Urls"/>. Latency and CPU figures are medians over the
    /// rounds too; the latency is publish-to-receive where the scenario measures it, else the send's or the consume's.
    /// A run cut short by Ctrl-C is listed with its round but left out of the medians, unless the server has no other.
    /// </summary>
    public static IReadOnlyList<Row> Summarise(LoadOptions options, IReadOnlyList<(int Server, RunResult Result)> runs)
    {
        var rows = options.Urls.Select((url, index) =>
        {
            var own = runs.Where(r => r.Server == index).Select(r => r.Result).ToList();
            var whole = own.Where(r => !r.Interrupted).ToList() is { Count: > 0 } complete ? complete : own;
            var latency = whole.Select(Headline).OfType<OperationStats>().ToList();
            return new Row(
                url.ToString(),
                // A server not run has no result to say it, but the transport it was to be measured over is known.
                own.FirstOrDefault()?.Transport ?? (options.ForServer(index).Http2Connections > 0 ? "h2c" : "http/1.1"),
                own.Select(r => r.ThroughputMsgsPerSecond).ToList(),
                Median(whole.Select(r => r.ThroughputMsgsPerSecond)),
                null,
                latency.FirstOrDefault()?.Operation,
                Median(latency.Select(op => op.P50Ms)),
                Median(latency.Select(op => op.P99Ms)),
                Median(whole.Select(r => Figure(r, "broker_cpu_us_per_msg")).OfType<double>()),
                Median(whole.Select(r => Figure(r, "loadgen_cpu_us_per_msg")).OfType<double>()),
                own.Count > 0 && own.All(r => r.Passed),
                // A server the session did not get to (it stopped at another that could not be reached, or at Ctrl-C).
                own.Count == 0 ? "NOT RUN"
                    : own.Any(r => r.Failed) ? "FAIL"
                    : own.Any(r => r.Result == "UNVERIFIED") ? "UNVERIFIED"
                    : "PASS");
        }).ToList();
        var first = rows[0].MedianMsgsPerSecond;
        return [.. rows.Select(row => row with { RatioToFirst = first > 0 && row.MedianMsgsPerSecond is { } median ? Math.Round(median / first.Value, 3) : null })];
    }

    /// <param name="interrupted">A run was cut short by Ctrl-C, which the table then says.</param>
    public static string ToTable(LoadOptions options, IReadOnlyList<Row> rows, bool interrupted = false)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(c, $"side by side: {options.Scenario}, {options.Rounds} round{(options.Rounds == 1 ? "" : "s")} on each server, in turns");
        var width = Math.Max(6, rows.Max(r => r.Url.Length)) + 2;
        sb.AppendLine(c, $"{"server".PadRight(width)}{"transport",-10}{"median msgs/s",14}{"vs first",10}{"p50 ms",9}{"p99 ms",9}{"broker us/msg",15}{"tool us/msg",13}  {"result",-10}  msgs/s by round");
        foreach (var row in rows)
        {
            sb.AppendLine(c,
                $"{row.Url.PadRight(width)}{row.Transport,-10}{Cell(row.MedianMsgsPerSecond, "N0"),14}{Cell(row.RatioToFirst, "0.00"),10}{Cell(row.P50Ms, "0.00"),9}{Cell(row.P99Ms, "0.00"),9}" +
                $"{Cell(row.BrokerCpuUsPerMsg, "0.0"),15}{Cell(row.LoadgenCpuUsPerMsg, "0.0"),13}  " +
                $"{row.Result,-10}  {string.Join("  ", row.MsgsPerSecond.Select(v => v.ToString("N0", c)))}");
        }

        if (rows.FirstOrDefault(r => r.Latency is not null)?.Latency is { } operation)
        {
            sb.AppendLine(c, $"(p50 and p99: {operation})");
        }

        if (interrupted)
        {
            sb.AppendLine("(a run stopped by Ctrl-C is listed with its round, but left out of the medians where its server has another)");
        }

        return sb.ToString();
    }

    /// <param name="error">Why the session stopped short of its runs; left out when it did not.</param>
    public static string ToJson(IEnumerable<RunResult> runs, IReadOnlyList<Row> rows, string? error = null) =>
        error is null
            ? JsonSerializer.Serialize(new { runs, sideBySide = rows }, RunResult.OutputJson)
            : JsonSerializer.Serialize(new { runs, sideBySide = rows, error }, RunResult.OutputJson);

    private static double? Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? null
            : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2]
            : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static double? Figure(RunResult result, string name) =>
        result.Extra.TryGetValue(name, out var value) && value is double d ? d : null;

    private static OperationStats? Headline(RunResult result) =>
        result.Operations.FirstOrDefault(op => op.Operation == "publish->receive")
        ?? result.Operations.FirstOrDefault(op => op.Operation is "send" or "consume");

    private static string Cell(double? value, string format) => value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "-";
}
