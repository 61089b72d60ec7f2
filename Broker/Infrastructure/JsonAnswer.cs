using System.Buffers;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.Metadata;
using WonderQ.Shared.Json;

namespace WonderQ.Broker.Infrastructure;

/// <summary>
/// A small 2xx JSON answer (a send's id, a delete's success), written in one go. <c>TypedResults.Ok</c> and
/// <c>Created</c> resolve a logger from the request's services, which makes a DI scope for the request, and serialize
/// through an async writer, on the path of every send and delete (docs/performance-journal.md, 2026-12-05). Buffered
/// whole, it goes out with its <c>Content-Length</c>, not in HTTP/1.1 chunks whose framing both ends would spend on
/// a few bytes; so only for answers of a few bytes.
/// </summary>
public abstract class JsonAnswer<T>(int statusCode, T value) : IResult, IStatusCodeHttpResult, IValueHttpResult, IValueHttpResult<T>
{
    // Writing needs none of the HTTP options' reading rules, so the shared conventions do.
    private static readonly JsonTypeInfo<T> _typeInfo = (JsonTypeInfo<T>)WonderQJson.Options.GetTypeInfo(typeof(T));

    public T Value => value;

    int? IStatusCodeHttpResult.StatusCode => statusCode;

    object? IValueHttpResult.Value => value;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.StatusCode = statusCode;
        response.ContentType = "application/json; charset=utf-8";
        var body = JsonSerializer.SerializeToUtf8Bytes(value, _typeInfo);
        response.ContentLength = body.Length;
        response.BodyWriter.Write(body);
        return Task.CompletedTask;
    }

    /// <summary>What Ok&lt;T&gt; and Created&lt;T&gt; tell the OpenAPI document of themselves.</summary>
    protected static void Produces(EndpointBuilder builder, int statusCode) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(statusCode, typeof(T), ["application/json"]));
}

/// <summary>A 200 <see cref="JsonAnswer{T}"/>.</summary>
public sealed class JsonOk<T>(T value) : JsonAnswer<T>(StatusCodes.Status200OK, value), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Produces(builder, StatusCodes.Status200OK);
}

/// <summary>A 201 <see cref="JsonAnswer{T}"/>, without a <c>Location</c>.</summary>
public sealed class JsonCreated<T>(T value) : JsonAnswer<T>(StatusCodes.Status201Created, value), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Produces(builder, StatusCodes.Status201Created);
}
