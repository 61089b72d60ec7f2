using System.Text;
using Microsoft.Net.Http.Headers;

namespace WonderQ.Shared.Web;

public static class RequestCharset
{
    /// <summary>
    /// Refuses a body labelled with a charset .NET cannot decode (<c>application/json; charset=bogus</c>, or an empty
    /// <c>charset=</c>) as a 415, and unquotes a quoted one (<c>charset="utf-8"</c>, which RFC 9110 allows). The JSON
    /// reader takes the charset as it stands, quotes included, and any name it cannot decode surfaces from it as an
    /// InvalidOperationException, which would be a 500.
    /// </summary>
    public static IApplicationBuilder UseKnownRequestCharset(this IApplicationBuilder app) =>
        app.Use(next => context =>
        {
            // Most requests name no charset; only those that do pay for parsing the header.
            var contentType = context.Request.ContentType;
            if (contentType is not null
                && contentType.Contains("charset", StringComparison.OrdinalIgnoreCase)
                && MediaTypeHeaderValue.TryParse(contentType, out var mediaType)
                && mediaType.Charset.HasValue)
            {
                var charset = HeaderUtilities.RemoveQuotes(mediaType.Charset);
                if (!IsKnown(charset.Value))
                {
                    throw new BadHttpRequestException("Unsupported charset.", StatusCodes.Status415UnsupportedMediaType);
                }

                if (charset.Length != mediaType.Charset.Length)
                {
                    mediaType.Charset = charset;
                    context.Request.ContentType = mediaType.ToString();
                }
            }

            return next(context);
        });

    private static bool IsKnown(string? charset)
    {
        if (string.IsNullOrWhiteSpace(charset))
        {
            return false;
        }

        try
        {
            Encoding.GetEncoding(charset);
            return true;
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
        {
            // NotSupportedException: UTF-7, which .NET names but no longer decodes.
            return false;
        }
    }
}
