using System.Text;
using Microsoft.Net.Http.Headers;

namespace WonderQ.Shared.Web;

public static class RequestCharset
{
    /// <summary>
    /// Refuses a body labelled with a charset .NET cannot decode (<c>application/json; charset=bogus</c>) as a 415.
    /// Left to the JSON reader, it surfaces as an InvalidOperationException, which would be a 500.
    /// </summary>
    public static IApplicationBuilder UseKnownRequestCharset(this IApplicationBuilder app) =>
        app.Use(next => context =>
        {
            // Most requests name no charset; only those that do pay for parsing the header.
            var contentType = context.Request.ContentType;
            if (contentType is not null
                && contentType.Contains("charset", StringComparison.OrdinalIgnoreCase)
                && MediaTypeHeaderValue.TryParse(contentType, out var mediaType)
                && mediaType.Charset is { Length: > 0 } charset
                && !IsKnown(charset.Value!.Trim('"')))
            {
                throw new BadHttpRequestException("Unsupported charset.", StatusCodes.Status415UnsupportedMediaType);
            }

            return next(context);
        });

    private static bool IsKnown(string charset)
    {
        try
        {
            Encoding.GetEncoding(charset);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
