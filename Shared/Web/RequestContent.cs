using System.Text;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace WonderQ.Shared.Web;

public static class RequestContent
{
    /// <summary>
    /// Refuses, as a 415 that says why, a body this API would misread: one labelled with a charset other than UTF-8,
    /// or sent with a content coding. JSON between systems is UTF-8 (RFC 8259), and reading another charset would
    /// quietly turn what it cannot decode into '?' or U+FFFD, storing a body other than the one sent; a compressed
    /// body would be read as malformed JSON. US-ASCII is read as the UTF-8 it is a part of, so that any byte past it
    /// is checked as UTF-8 rather than replaced. A quoted charset (<c>charset="utf-8"</c>, which RFC 9110 allows) is
    /// unquoted, as the JSON reader takes the label as it stands. A request without a body is not judged by labels
    /// that describe none, nor is one to a path no endpoint serves: its 404 is what the client must change first.
    /// </summary>
    public static IApplicationBuilder UseKnownRequestContent(this IApplicationBuilder app) =>
        app.Use(next => context =>
        {
            var request = context.Request;
            if (!CanHaveBody(context) || context.GetEndpoint() is null)
            {
                return next(context);
            }

            if (request.Headers.ContentEncoding is { Count: > 0 } codings && Coded(codings) is { } coding)
            {
                throw new RefusedRequestException(
                    StatusCodes.Status415UnsupportedMediaType,
                    "Unsupported content encoding.",
                    $"The body is sent with 'Content-Encoding: {coding}', which this API does not decode: send it uncompressed.");
            }

            // Most requests name no charset; only those that do pay for parsing the header.
            var contentType = request.ContentType;
            if (contentType is not null
                && contentType.Contains("charset", StringComparison.OrdinalIgnoreCase)
                && MediaTypeHeaderValue.TryParse(contentType, out var mediaType)
                && mediaType.Charset.HasValue)
            {
                var charset = HeaderUtilities.RemoveQuotes(mediaType.Charset).Value;
                if (!IsUtf8(charset))
                {
                    throw new RefusedRequestException(
                        StatusCodes.Status415UnsupportedMediaType,
                        "Unsupported charset.",
                        $"The body is labelled 'charset={charset}'; JSON is read as UTF-8 only (RFC 8259): send it as UTF-8, or name no charset.");
                }

                // Quoted, or another name of it: relabelled, for the JSON reader takes the label as it stands.
                if (!mediaType.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase))
                {
                    mediaType.Charset = "utf-8";
                    request.ContentType = mediaType.ToString();
                }
            }

            return next(context);
        });

    /// <summary>The first coding named that is not <c>identity</c>; the header is a list, in which empty items count for nothing.</summary>
    private static string? Coded(StringValues codings)
    {
        foreach (var value in codings)
        {
            foreach (var coding in (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!coding.Equals("identity", StringComparison.OrdinalIgnoreCase))
                {
                    return coding;
                }
            }
        }

        return null;
    }

    private static bool CanHaveBody(HttpContext context) =>
        context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody
        ?? (context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0);

    private static bool IsUtf8(string? charset)
    {
        if (string.IsNullOrWhiteSpace(charset))
        {
            return false;
        }

        // "utf8" and "csUTF8" are names of UTF-8 too (the latter IANA's), which .NET does not know.
        if (charset.Equals("utf8", StringComparison.OrdinalIgnoreCase) || charset.Equals("csUTF8", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        try
        {
            return Encoding.GetEncoding(charset).CodePage is 65001 or 20127; // UTF-8, US-ASCII
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
        {
            // NotSupportedException: UTF-7, which .NET names but no longer decodes.
            return false;
        }
    }
}
