using System.Buffers;
using System.Text;

namespace WonderQ.LoadTest.Wire;

/// <summary>Appends the pieces of an HTTP/1.1 request (ASCII text, numbers, a body) to a request buffer.</summary>
internal static class RequestBytes
{
    public static ArrayBufferWriter<byte> Append(this ArrayBufferWriter<byte> request, ReadOnlySpan<byte> bytes)
    {
        request.Write(bytes);
        return request;
    }

    public static ArrayBufferWriter<byte> Append(this ArrayBufferWriter<byte> request, long value)
    {
        var span = request.GetSpan(20);
        if (!value.TryFormat(span, out var written, default, System.Globalization.CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException("A long takes at most 20 bytes.");
        }

        request.Advance(written);
        return request;
    }

    /// <summary>Appends ASCII text (a URL already escaped, a header value); anything else is an error, not mojibake.</summary>
    public static ArrayBufferWriter<byte> AppendAscii(this ArrayBufferWriter<byte> request, string text)
    {
        var span = request.GetSpan(text.Length);
        if (Ascii.FromUtf16(text, span, out var written) != OperationStatus.Done)
        {
            throw new ArgumentException($"'{text}' is not ASCII.", nameof(text));
        }

        request.Advance(written);
        return request;
    }
}
