using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.Features;
using WonderQ.Shared.Web;

namespace WonderQ.Broker.Infrastructure;

/// <summary>
/// A request's JSON body read whole, then parsed from memory, for the send. Minimal APIs' binding parses it as it
/// streams from the body's <see cref="PipeReader"/>, which allocates 413 bytes a send more: read this way, the broker
/// took 9–12% more sends a second over HTTP/1.1 on two cores (docs/performance-journal.md, 2026-12-05). It refuses
/// what the binding refuses, and the same way, so the exception handler answers as it did: a body not labelled JSON is
/// a 415, none (or JSON's <c>null</c>) a 400, and JSON that does not read as <typeparamref name="T"/> a 400 carrying
/// the parser's <see cref="JsonException"/>. A body Kestrel refused as it arrived (over the limit, too slow, cut off)
/// is left to <see cref="RequestBodyLimit"/>, as the binding leaves it. The endpoint declares what it takes with
/// <c>Accepts</c>, which its OpenAPI entry and the check of a body's field names read.
/// </summary>
public sealed class JsonBody<T>(JsonTypeInfo<T> typeInfo)
    where T : class
{
    /// <summary>The body, or null when Kestrel refused it as it arrived: then nothing is to be answered here.</summary>
    public async ValueTask<T?> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.HttpContext.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: false })
        {
            throw Missing();
        }

        if (!request.HasJsonContentType())
        {
            throw new BadHttpRequestException("Expected a JSON request body.", StatusCodes.Status415UnsupportedMediaType);
        }

        var reader = request.BodyReader;
        ReadResult read;
        try
        {
            read = await reader.ReadAsync(cancellationToken);
            while (!read.IsCompleted)
            {
                // Kestrel holds the body to its limit (Limits:MaxRequestBodyBytes) as it arrives.
                reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
                read = await reader.ReadAsync(cancellationToken);
            }
        }
        catch (IOException)
        {
            return null;
        }

        try
        {
            return Parse(read.Buffer) ?? throw Missing();
        }
        catch (JsonException json)
        {
            throw new BadHttpRequestException("The request body is not valid JSON.", StatusCodes.Status400BadRequest, json);
        }
        finally
        {
            reader.AdvanceTo(read.Buffer.End);
        }
    }

    private T? Parse(ReadOnlySequence<byte> body)
    {
        if (body.IsSingleSegment)
        {
            return Deserialize(body.FirstSpan);
        }

        // A body larger than one of Kestrel's blocks (4 KiB) is copied into one span: read from the sequence, the
        // serializer would not check that nothing follows the value.
        var length = checked((int)body.Length);
        var copy = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            body.CopyTo(copy);
            return Deserialize(copy.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    private T? Deserialize(ReadOnlySpan<byte> json) =>
        // Read from a stream or a pipe, System.Text.Json skips a byte order mark; read from memory it does not.
        JsonSerializer.Deserialize(json.StartsWith("\uFEFF"u8) ? json[3..] : json, typeInfo);

    private static RefusedRequestException Missing() =>
        new(StatusCodes.Status400BadRequest, "The request body is missing.", "This endpoint needs a JSON object as its request body.");
}
