using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;

namespace WonderQ.Shared.Web;

/// <summary>
/// HEAD is answered wherever GET is, as RFC 9110 (§9.3.2) asks of a server, since load balancers and monitors probe
/// with it. A HEAD is routed as the GET of its target and then runs that GET's endpoint as a HEAD with its body
/// dropped: the GET's status and headers (a 304 for a matching ETag too), from one endpoint, with no endpoint listing
/// HEAD itself.
/// </summary>
public static class HeadRequests
{
    /// <summary>
    /// Marks a GET that is not safe: it changes something (a consume claims messages, a listen starts a loop). A HEAD
    /// must change nothing, so a HEAD of such an endpoint is a 405 with its <c>Allow</c> instead of a run of the GET;
    /// and another origin's page is refused it with a 403 (<see cref="RefuseOtherOrigins"/>), which its OpenAPI
    /// operation declares.
    /// </summary>
    public static TBuilder RefusesHead<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(
            UnsafeGet.Instance,
            new ProducesResponseTypeMetadata(StatusCodes.Status403Forbidden, typeof(ProblemDetails), ["application/problem+json"]));

    /// <summary>Before routing: a HEAD gets no body, whatever writes one, and is routed as a GET.</summary>
    internal static Task RouteAsGet(HttpContext context, RequestDelegate next)
    {
        if (HttpMethods.IsHead(context.Request.Method))
        {
            // Kestrel drops a HEAD's body itself over HTTP/1.1, but over HTTP/2 it sends what an endpoint or a problem
            // writes, and clients reset the stream as a protocol error.
            context.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(Stream.Null));
            context.Features.Set(RoutedAsGet.Instance);
            context.Request.Method = HttpMethods.Get;
        }

        return next(context);
    }

    /// <summary>After routing: the endpoint sees the HEAD it was sent, unless it may not run for one.</summary>
    internal static Task RunAsHead(HttpContext context, RequestDelegate next)
    {
        if (context.Features.Get<RoutedAsGet>() is null)
        {
            return next(context);
        }

        context.Request.Method = HttpMethods.Head;
        if (context.GetEndpoint() is { } endpoint && IsUnsafeGet(endpoint))
        {
            context.SetEndpoint(AllowedMethods.RefusalEndpoint());
        }

        return next(context);
    }

    /// <summary>
    /// After routing: a GET that changes something is refused to another origin's page. A browser sends such a GET for
    /// any page that links to it or loads it as an image, with no question asked of this app: on a broker without keys,
    /// or through the UserApp's own key, any web page its user opened could consume a queue's messages. A page served
    /// from another port of this machine is <c>same-site</c> to the browser, not <c>cross-site</c>, and is refused too.
    /// </summary>
    internal static Task RefuseOtherOrigins(HttpContext context, RequestDelegate next) =>
        context.GetEndpoint() is { } endpoint && IsUnsafeGet(endpoint)
            && context.Request.Headers["Sec-Fetch-Site"].ToString() is var site
            && (site.Equals("cross-site", StringComparison.OrdinalIgnoreCase) || site.Equals("same-site", StringComparison.OrdinalIgnoreCase))
            ? RefuseAsync(context, site)
            : next(context);

    private static Task RefuseAsync(HttpContext context, string site) =>
        Problems.WriteAsync(
            context,
            StatusCodes.Status403Forbidden,
            "Forbidden.",
            $"{context.Request.Method} {context.Request.Path} changes what is stored, and this request came from another origin's page "
                + $"(Sec-Fetch-Site: {site.ToLowerInvariant()}): call it from a script, curl or the address bar.");

    internal static bool IsUnsafeGet(Endpoint endpoint) => endpoint.Metadata.GetMetadata<UnsafeGet>() is not null;

    private sealed class UnsafeGet
    {
        public static readonly UnsafeGet Instance = new();
    }

    private sealed class RoutedAsGet
    {
        public static readonly RoutedAsGet Instance = new();
    }
}
