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
        app.Use(async (context, next) =>
        {
            if (MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var mediaType)
                && mediaType.Charset is { Length: > 0 } charset
                && !IsKnown(charset.Value!.Trim('"')))
            {
                throw new BadHttpRequestException("Unsupported charset.", StatusCodes.Status415UnsupportedMediaType);
            }

            await next(context);
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
