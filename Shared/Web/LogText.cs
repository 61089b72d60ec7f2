using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace WonderQ.Shared.Web;

/// <summary>
/// Text from outside written to a log line or to stdout: a message's body, or whatever the server at Broker:Url
/// answered (a problem's detail or title, a reason phrase, an HTTP error that quotes its bytes). Raw, it could end the
/// line and forge the next one, or send a terminal its commands.
/// </summary>
public static class LogText
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

    /// <summary>
    /// The text with its control characters and line separators written as escapes (<c>\n</c>, <c>\u001b</c>). A
    /// backslash is written <c>\\</c>, so every backslash in the line starts an escape, and a surrogate without its
    /// pair as one too (<c>\ud800</c>; an encoder would write U+FFFD for it): no two texts print the same line.
    /// </summary>
    [return: NotNullIfNotNull(nameof(text))]
    public static string? Printable(string? text)
    {
        if (text is null || !text.AsSpan().ContainsAny(_escaped))
        {
            return text;
        }

        var escaped = new StringBuilder(text.Length + 16);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                escaped.Append(c).Append(text[++i]);
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
