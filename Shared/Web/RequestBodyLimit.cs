using Microsoft.Extensions.Options;
using WonderQ.Shared.Validation;

namespace WonderQ.Shared.Web;

public static class RequestBodyLimit
{
    /// <summary>
    /// Refuses a body whose declared length is over the limit before reading a byte of it. A body without a declared
    /// length is cut off by the server's own limit (Kestrel's MaxRequestBodySize) once it passes the same size.
    /// </summary>
    public static IApplicationBuilder UseRequestBodyLimit(this IApplicationBuilder app) =>
        app.Use(next =>
        {
            // Read when the pipeline is built, at start, after the options were validated.
            var max = app.ApplicationServices.GetRequiredService<IOptions<LimitsOptions>>().Value.MaxRequestBodyBytes;
            return context => context.Request.ContentLength > max
                ? throw new BadHttpRequestException("Request body too large.", StatusCodes.Status413PayloadTooLarge)
                : next(context);
        });
}
