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
    // The C0 controls except the tab; DEL and the C1 controls; the line and paragraph separators; the bidirectional
    // embeddings, overrides and isolates, which can make a terminal show a line's text in another order than it has;
    // the backslash, which starts every escape; and the surrogates, escaped when one comes without its pair.
    private static readonly SearchValues<char> _escaped = SearchValues.Create(
    [
        .. Enumerable.Range(0, 0x20).Where(i => i != '\t').Select(i => (char)i),
        .. Enumerable.Range(0x7f, 0x21).Select(i => (char)i),
        '\u2028', '\u2029', '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069', '\\',
        .. Enumerable.Range(0xd800, 0x800).Select(i => (char)i),
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
    /// A backslash is written <c>\\</c>, so every backslash in the line starts an escape, and a surrogate without its
    /// pair as one too (<c>\ud800</c>; an encoder would write U+FFFD for it): no two bodies print the same line.
    /// </summary>
    public static string Printable(string body)
    {
        if (!body.AsSpan().ContainsAny(_escaped))
        {
            return body;
        }

        var escaped = new StringBuilder(body.Length + 16);
        for (var i = 0; i < body.Length; i++)
        {
            var c = body[i];
            if (char.IsHighSurrogate(c) && i + 1 < body.Length && char.IsLowSurrogate(body[i + 1]))
            {
                escaped.Append(c).Append(body[++i]);
                continue;
            }

            _ = c switch
            {
                '\\' => escaped.Append("\\\\"),
                '\n' => escaped.Append("\\n"),
                '\r' => escaped.Append("\\r"),
                _ when _escaped.Contains(c) => escaped.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}"),
                _ => escaped.Append(c),
            };
        }

        return escaped.ToString();
    }
}
