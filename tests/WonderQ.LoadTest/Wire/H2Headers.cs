using System.Buffers;
using System.Text;

namespace WonderQ.LoadTest.Wire;

/// <summary>
/// The little HPACK (RFC 7541) the load test needs: request header blocks from the static table and literals never
/// indexed, and a response's <c>:status</c>, which with the dynamic table's size set to 0 is a static entry or a
/// literal.
/// </summary>
internal static class H2Headers
{
    private static ReadOnlySpan<int> StaticStatuses => [200, 204, 206, 304, 400, 404, 500];

    /// <summary>The header block of a request: method, <c>http</c>, the target, the authority, a JSON content type if any.</summary>
    public static void WriteRequest(ArrayBufferWriter<byte> block, WireMethod method, ReadOnlySpan<byte> target, ReadOnlySpan<byte> authority, bool json)
    {
        switch (method)
        {
            case WireMethod.Get: WriteByte(block, 0x82); break;      // static 2, :method GET
            case WireMethod.Post: WriteByte(block, 0x83); break;     // static 3, :method POST
            case WireMethod.Delete: WriteLiteral(block, 2, "DELETE"u8); break;
        }

        WriteByte(block, 0x86);                                  // static 6, :scheme http
        WriteLiteral(block, 4, target);                       // :path
        WriteLiteral(block, 1, authority);                    // :authority
        if (json)
        {
            WriteLiteral(block, 31, "application/json"u8);    // content-type
        }
    }

    /// <summary>The <c>:status</c> of a response's header block; it comes first (RFC 9113, 8.3).</summary>
    public static int ReadStatus(ReadOnlySpan<byte> block)
    {
        var i = 0;
        while (i < block.Length)
        {
            var first = block[i];
            if ((first & 0x80) != 0)
            {
                // Indexed field: static entries 8-14 are :status 200, 204, 206, 304, 400, 404, 500.
                var index = ReadInteger(block, ref i, 7);
                return index is >= 8 and <= 14
                    ? StaticStatuses[index - 8]
                    : throw WireConnection.Malformed($"a response whose first header is HPACK entry {index}, not :status");
            }

            if ((first & 0xE0) == 0x20)
            {
                ReadInteger(block, ref i, 5); // a dynamic table size update
                continue;
            }

            // A literal: with incremental indexing (01), without (0000) or never indexed (0001).
            var nameIndex = ReadInteger(block, ref i, (first & 0xC0) == 0x40 ? 6 : 4);
            if (nameIndex is < 8 or > 14)
            {
                throw WireConnection.Malformed($"a response whose first header is not :status (HPACK name {nameIndex})");
            }

            return ReadStatusValue(block, ref i);
        }

        throw WireConnection.Malformed("a response without :status");
    }

    private static void WriteLiteral(ArrayBufferWriter<byte> block, int nameIndex, ReadOnlySpan<byte> value)
    {
        WriteInteger(block, 0x00, 4, nameIndex);              // a literal without indexing, named by the static table
        WriteInteger(block, 0x00, 7, value.Length);           // and not Huffman-coded
        block.Write(value);
    }

    private static void WriteInteger(ArrayBufferWriter<byte> block, byte flags, int prefixBits, int value)
    {
        var max = (1 << prefixBits) - 1;
        if (value < max)
        {
            WriteByte(block, (byte)(flags | value));
            return;
        }

        WriteByte(block, (byte)(flags | max));
        value -= max;
        while (value >= 0x80)
        {
            WriteByte(block, (byte)((value & 0x7F) | 0x80));
            value >>= 7;
        }

        WriteByte(block, (byte)value);
    }

    private static void WriteByte(ArrayBufferWriter<byte> block, byte value)
    {
        block.GetSpan(1)[0] = value;
        block.Advance(1);
    }

    private static int ReadInteger(ReadOnlySpan<byte> block, ref int i, int prefixBits)
    {
        var max = (1 << prefixBits) - 1;
        var value = block[i++] & max;
        if (value < max)
        {
            return value;
        }

        for (var shift = 0; shift < 28; shift += 7)
        {
            var next = i < block.Length ? block[i++] : throw WireConnection.Malformed("an HPACK integer cut short");
            value += (next & 0x7F) << shift;
            if ((next & 0x80) == 0)
            {
                return value;
            }
        }

        throw WireConnection.Malformed("an HPACK integer too large");
    }

    /// <summary>A literal <c>:status</c>: three digits, as they are or Huffman-coded (Kestrel sends them plain; nghttp2 codes them).</summary>
    private static int ReadStatusValue(ReadOnlySpan<byte> block, ref int i)
    {
        if (i >= block.Length)
        {
            throw WireConnection.Malformed("an HPACK string cut short");
        }

        var huffman = (block[i] & 0x80) != 0;
        var length = ReadInteger(block, ref i, 7);
        if (length > block.Length - i)
        {
            throw WireConnection.Malformed("an HPACK string cut short");
        }

        var value = block.Slice(i, length);
        i += length;
        var status = huffman ? HuffmanDigits(value) : int.TryParse(Encoding.ASCII.GetString(value), out var plain) ? plain : -1;
        return status is >= 100 and <= 999 ? status : throw WireConnection.Malformed("a :status that is not three digits");
    }

    /// <summary>
    /// The number a Huffman-coded string of digits spells (RFC 7541, Appendix B: '0'-'2' are the 5-bit codes 0-2,
    /// '3'-'9' the 6-bit codes 0x19-0x1f), or -1 for any other character. Every digit's code starts with a 0 bit, so a
    /// 1 bit starts the padding: fewer than 8 bits, all ones.
    /// </summary>
    private static int HuffmanDigits(ReadOnlySpan<byte> coded)
    {
        int total = coded.Length * 8, at = 0, number = 0, digits = 0;
        while (at < total && Bits(coded, at, 1) == 0 && digits < 9)
        {
            if (total - at >= 5 && Bits(coded, at, 5) is var five && five <= 2)
            {
                (number, at) = ((number * 10) + five, at + 5);
            }
            else if (total - at >= 6 && Bits(coded, at, 6) is var six && six is >= 0x19 and <= 0x1f)
            {
                (number, at) = ((number * 10) + 3 + six - 0x19, at + 6);
            }
            else
            {
                return -1;
            }

            digits++;
        }

        var padding = total - at;
        return digits > 0 && padding < 8 && Bits(coded, at, padding) == (1 << padding) - 1 ? number : -1;
    }

    private static int Bits(ReadOnlySpan<byte> bytes, int at, int count)
    {
        var value = 0;
        for (var b = at; b < at + count; b++)
        {
            value = (value << 1) | ((bytes[b >> 3] >> (7 - (b & 7))) & 1);
        }

        return value;
    }
}
