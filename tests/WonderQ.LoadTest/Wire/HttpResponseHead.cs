using System.Buffers.Text;
using System.Text;

namespace WonderQ.LoadTest.Wire;

/// <summary>What a client needs from a response's status line and headers to read its body and keep the connection.</summary>
/// <param name="Status">The status code.</param>
/// <param name="ContentLength">The Content-Length; null when absent (or overridden by chunked).</param>
/// <param name="Chunked">Transfer-Encoding ends with chunked.</param>
/// <param name="KeepAlive">The connection stays open after this response (HTTP/1.1 without Connection: close).</param>
internal readonly record struct HttpResponseHead(int Status, long? ContentLength, bool Chunked, bool KeepAlive)
{
    /// <summary>
    /// Parses the status line and header fields (the bytes before the blank line, without it). Field names are
    /// case-insensitive. Throws <see cref="HttpRequestException"/> for anything malformed.
    /// </summary>
    public static HttpResponseHead Parse(ReadOnlySpan<byte> head)
    {
        var lineEnd = head.IndexOf("\r\n"u8);
        var statusLine = lineEnd < 0 ? head : head[..lineEnd];
        // HTTP-version SP 3DIGIT SP [ reason-phrase ]
        if (statusLine.Length < 12 || !statusLine.StartsWith("HTTP/1."u8) || statusLine[8] != (byte)' '
            || !IsDigit(statusLine[7]) || !IsDigit(statusLine[9]) || !IsDigit(statusLine[10]) || !IsDigit(statusLine[11])
            || (statusLine.Length > 12 && statusLine[12] != (byte)' '))
        {
            throw WireConnection.Malformed($"'{Printable(statusLine)}' is not an HTTP/1.x status line");
        }

        var status = ((statusLine[9] - '0') * 100) + ((statusLine[10] - '0') * 10) + (statusLine[11] - '0');
        var http10 = statusLine[7] == (byte)'0';
        long? contentLength = null;
        var chunked = false;
        var transferEncoding = false;
        var close = false;
        var keepAliveToken = false;
        var rest = lineEnd < 0 ? [] : head[(lineEnd + 2)..];
        while (!rest.IsEmpty)
        {
            var end = rest.IndexOf("\r\n"u8);
            var line = end < 0 ? rest : rest[..end];
            rest = end < 0 ? [] : rest[(end + 2)..];
            var colon = line.IndexOf((byte)':');
            if (colon <= 0 || line[0] is (byte)' ' or (byte)'\t' || line[colon - 1] is (byte)' ' or (byte)'\t')
            {
                // No name, obsolete line folding, or whitespace before the colon (RFC 9112 5.1: reject).
                throw WireConnection.Malformed($"'{Printable(line)}' is not a header field");
            }

            var name = line[..colon];
            var value = line[(colon + 1)..].Trim(" \t"u8);
            if (Ascii.EqualsIgnoreCase(name, "Content-Length"u8))
            {
                if (!Utf8Parser.TryParse(value, out long length, out var used) || used != value.Length || length < 0
                    || !IsDigit(value[0]) || (contentLength is { } seen && seen != length))
                {
                    throw WireConnection.Malformed($"'{Printable(line)}' is not a valid Content-Length");
                }

                contentLength = length;
            }
            else if (Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8))
            {
                // The last coding decides: chunked frames the body, anything else runs to the connection's close.
                transferEncoding = true;
                chunked = LastToken(value, "chunked"u8);
            }
            else if (Ascii.EqualsIgnoreCase(name, "Connection"u8))
            {
                close |= HasToken(value, "close"u8);
                keepAliveToken |= HasToken(value, "keep-alive"u8);
            }
        }

        if (transferEncoding)
        {
            // RFC 9112 6.3: Transfer-Encoding overrides Content-Length; a body not ending in chunked ends at close.
            contentLength = null;
            close |= !chunked;
        }

        return new HttpResponseHead(status, contentLength, chunked, KeepAlive: !close && (!http10 || keepAliveToken));
    }

    private static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';

    /// <summary>Whether the comma-separated list <paramref name="value"/> holds <paramref name="token"/> (any case).</summary>
    private static bool HasToken(ReadOnlySpan<byte> value, ReadOnlySpan<byte> token)
    {
        foreach (var range in value.Split((byte)','))
        {
            if (Ascii.EqualsIgnoreCase(value[range].Trim(" \t"u8), token))
            {
                return true;
            }
        }

        return false;
    }

    private static bool LastToken(ReadOnlySpan<byte> value, ReadOnlySpan<byte> token)
    {
        var comma = value.LastIndexOf((byte)',');
        return Ascii.EqualsIgnoreCase(value[(comma + 1)..].Trim(" \t"u8), token);
    }

    private static string Printable(ReadOnlySpan<byte> bytes)
    {
        var text = Encoding.ASCII.GetString(bytes[..Math.Min(bytes.Length, 60)]);
        return string.Create(text.Length, text, static (chars, t) =>
        {
            for (var i = 0; i < t.Length; i++)
            {
                chars[i] = char.IsControl(t[i]) ? '?' : t[i];
            }
        });
    }
}
