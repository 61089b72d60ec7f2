using System.Buffers;
using System.Globalization;
using System.Text;

namespace WonderQ.UserApp.Listen;

/// <summary>
/// Where processed messages are reported: one <c>Processing message: &lt;body&gt;</c> line each, on stdout by default.
/// Written directly rather than through the logger, whose format would add prefixes, and flushed at once so a
/// reader of the pipe sees each line as it happens. Tests hand in their own writer.
/// </summary>
public sealed class MessageOutput(TextWriter writer)
{
    // The C0 controls except the tab; DEL and the C1 controls; the line and paragraph separators; and the bidirectional
    // embeddings, overrides and isolates, which can make a terminal show a line's text in another order than it has.
    private static readonly SearchValues<char> _unprintable = SearchValues.Create(
    [
        .. Enumerable.Range(0, 0x20).Where(i => i != '\t').Select(i => (char)i),
        .. Enumerable.Range(0x7f, 0x21).Select(i => (char)i),
        '\u2028', '\u2029', '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069',
    ]);

    private readonly Lock _lock = new();

    public void Processing(string body)
    {
        var line = "Processing message: " + Printable(body);
        lock (_lock)
        {
            writer.WriteLine(line);
            writer.Flush();
        }
    }

    /// <summary>
    /// The body with its control characters and line separators written as escapes (<c>\n</c>, <c>\u001b</c>): a
    /// body is anyone's input, and raw it could end the line and forge the next one, or send a terminal its commands.
    /// </summary>
    public static string Printable(string body)
    {
        if (!body.AsSpan().ContainsAny(_unprintable))
        {
            return body;
        }

        var escaped = new StringBuilder(body.Length + 16);
        foreach (var c in body)
        {
            _ = c switch
            {
                '\n' => escaped.Append("\\n"),
                '\r' => escaped.Append("\\r"),
                _ when _unprintable.Contains(c) => escaped.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}"),
                _ => escaped.Append(c),
            };
        }

        return escaped.ToString();
    }
}
