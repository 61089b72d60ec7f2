using System.Text.RegularExpressions;

namespace WonderQ.Testing;

/// <summary>
/// An API table of the README as a reader checks a client against it: each row's method, path, and the statuses its
/// success and errors columns name.
/// </summary>
public static partial class ReadmeApiTable
{
    public sealed record Row(string Method, string Path, IReadOnlySet<string> Statuses);

    /// <summary>The table that follows <paramref name="heading"/> (a whole heading line, such as <c>## Broker API</c>).</summary>
    public static IReadOnlyList<Row> Read(string heading)
    {
        var readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md")).ReplaceLineEndings("\n");
        var table = readme[(readme.IndexOf("\n" + heading + "\n", StringComparison.Ordinal) + 1)..];
        table = table[..table.IndexOf("\n\n", table.IndexOf("| method & path", StringComparison.Ordinal), StringComparison.Ordinal)];
        return [.. RowPattern().Matches(table).Select(row => new Row(
            row.Groups["method"].Value,
            row.Groups["path"].Value,
            StatusPattern().Matches(row.Groups["success"].Value + " " + row.Groups["errors"].Value).Select(m => m.Value).ToHashSet()))];
    }

    [GeneratedRegex(@"^\| `(?<method>[A-Z]+) (?<path>[^`]+)`[^|]*\|[^|]*\|(?<success>[^|]*)\|(?<errors>[^|]*)\|$", RegexOptions.Multiline)]
    private static partial Regex RowPattern();

    /// <summary>Three digits standing alone, not part of a figure such as 10,000 or 0.25.</summary>
    [GeneratedRegex(@"(?<![\w.]|[0-9],)[1-5][0-9]{2}(?![\w.]|,[0-9])")]
    private static partial Regex StatusPattern();
}
