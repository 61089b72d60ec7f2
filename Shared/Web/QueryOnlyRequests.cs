using Microsoft.AspNetCore.Http.Features;

namespace WonderQ.Shared.Web;

public static class QueryOnlyRequests
{
    /// <summary>
    /// Refuses a body sent to an endpoint that takes its parameters in the query string and reads no body (a consume,
    /// a find, a peek, a message's delete). Ignored, a parameter put there silently took its default: a
    /// <c>reservation_token</c> in a DELETE's JSON body made the delete unconditional, taking the message from a
    /// consumer that had claimed it since, which is what the token is there to prevent. An endpoint that takes nothing
    /// (a queue's delete, the queue list, <c>/healthz</c>) is left alone, as its query string is, and an empty body
    /// (<c>Content-Length: 0</c>, or chunked without data) is no body.
    /// </summary>
    public static IApplicationBuilder UseQueryOnlyRequests(this IApplicationBuilder app)
    {
        var catalog = app.ApplicationServices.GetRequiredService<EndpointParameterCatalog>();
        return app.Use(next => context =>
        {
            if (context.Features.Get<IHttpRequestBodyDetectionFeature>() is not { CanHaveBody: true }
                || context.GetEndpoint() is not { } found
                || catalog.Of(found) is not { ChecksQuery: true, BodyFields: null } endpoint)
            {
                return next(context);
            }

            return context.Request.ContentLength > 0 ? throw Refused(endpoint) : NextUnlessBodyAsync(context, endpoint, next);
        });
    }

    /// <summary>A body without a declared length (chunked) is refused once its first bytes arrive, passed on if it ends without any.</summary>
    private static async Task NextUnlessBodyAsync(HttpContext context, EndpointParameters endpoint, RequestDelegate next)
    {
        var reader = context.Request.BodyReader;
        var read = await reader.ReadAsync(context.RequestAborted);
        var empty = read.Buffer.IsEmpty;
        reader.AdvanceTo(read.Buffer.Start);
        if (!empty)
        {
            throw Refused(endpoint);
        }

        await next(context);
    }

    private static RefusedRequestException Refused(EndpointParameters endpoint) =>
        new(StatusCodes.Status400BadRequest, "The request has a body this endpoint does not read.", endpoint.UnreadBody());
}
