using System.Buffers;
using System.Text.Json;

namespace WonderQ.LoadTest.Wire;

/// <summary>The methods of the hot path's requests.</summary>
internal enum WireMethod
{
    Get,
    Post,
    Delete,
}

/// <summary>
/// A hot-path request as either transport needs it: its target (the base path first) and its JSON body, from which
/// an HTTP/1.1 request or an HTTP/2 header block is written. One per thread, filled and used with no await between.
/// </summary>
internal sealed class RequestParts
{
    public RequestParts() => Json = new Utf8JsonWriter(Body);

    public ArrayBufferWriter<byte> Target { get; } = new(256);

    /// <summary>The JSON body; empty for none.</summary>
    public ArrayBufferWriter<byte> Body { get; } = new(2048);

    /// <summary>Writes into <see cref="Body"/>.</summary>
    public Utf8JsonWriter Json { get; }

    /// <summary>Scratch space for an HTTP/2 header block.</summary>
    public ArrayBufferWriter<byte> HeaderBlock { get; } = new(256);

    public void Reset(ReadOnlySpan<byte> basePath)
    {
        Target.ResetWrittenCount();
        Target.Append(basePath);
        Body.ResetWrittenCount();
        Json.Reset(Body);
        HeaderBlock.ResetWrittenCount();
    }

    public void WriteHttp1(ArrayBufferWriter<byte> request, WireMethod method, ReadOnlySpan<byte> host)
    {
        request.Append(method switch
        {
            WireMethod.Get => "GET "u8,
            WireMethod.Post => "POST "u8,
            _ => "DELETE "u8,
        });
        request.Append(Target.WrittenSpan).Append(" HTTP/1.1\r\nHost: "u8).Append(host).Append("\r\n"u8);
        if (Body.WrittenCount > 0)
        {
            request.Append("Content-Type: application/json\r\nContent-Length: "u8).Append(Body.WrittenCount).Append("\r\n"u8);
        }

        request.Append("\r\n"u8).Append(Body.WrittenSpan);
    }
}
