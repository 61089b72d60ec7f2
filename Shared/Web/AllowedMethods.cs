using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Template;

namespace WonderQ.Shared.Web;

/// <summary>
/// The 405 of a method a path does not take, and its <c>Allow</c>. Routing lists every method of every route the path
/// matches, so <c>PUT /messages/consume</c> was told DELETE, as <c>DELETE /messages/{id}</c> matches with
/// <c>id=consume</c> (a 400 every time), and a GET's path was never told HEAD, which every safe GET answers.
/// </summary>
public static class AllowedMethods
{
    /// <summary>Routing's own 405 endpoint goes by this name alone (ASP.NET Core's HttpMethodMatcherPolicy).</summary>
    private const string RoutingRefusal = "405 HTTP Method Not Supported";

    /// <summary>
    /// Says which values of a route parameter the endpoint can take, for the <c>Allow</c> of a 405 only: requests are
    /// still routed to it whatever the segment holds, and its own checks say what is wrong with one it cannot take.
    /// </summary>
    public static TBuilder TakesRouteValue<TBuilder>(this TBuilder builder, string parameter, Func<string, bool> takes)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(new RouteValueShape(parameter, takes));

    /// <summary>
    /// Answers a wrong method first, before the request's query string, headers or body are judged: a client that
    /// used the wrong method should hear that, not that a parameter it would have to drop anyway was given twice.
    /// After the API key check, as a path no endpoint serves is: a client without a key learns nothing of the routes.
    /// </summary>
    internal static Task RefuseWrongMethod(HttpContext context, RequestDelegate next) =>
        context.GetEndpoint() is { } endpoint and not RouteEndpoint && (endpoint.DisplayName == RoutingRefusal || endpoint.Metadata.GetMetadata<Refusal>() is not null)
            ? Refuse(context)
            : next(context);

    /// <summary>The endpoint a HEAD of a GET that changes something is routed to instead of that GET.</summary>
    internal static Endpoint RefusalEndpoint() => new(Refuse, new EndpointMetadataCollection(Refusal.Instance), "405 HEAD of an unsafe GET");

    /// <summary>The body is the status-code middleware's problem+json, as for every bare status.</summary>
    private static Task Refuse(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
        context.Response.Headers.Allow = For(context);
        return Task.CompletedTask;
    }

    /// <summary>
    /// The methods of the routes the path matches, in the order routing writes its own, HEAD beside a GET that answers
    /// it; a route whose parameter could not take the segment is left out, unless no route is left (then the path is
    /// that route's in form, and its 400 says what is wrong).
    /// </summary>
    internal static string For(HttpContext context)
    {
        var path = context.Request.Path;
        var matching = new SortedSet<string>(StringComparer.Ordinal);
        var taking = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var endpoint in context.RequestServices.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            if (endpoint.Metadata.GetMetadata<IHttpMethodMetadata>() is not { HttpMethods: { Count: > 0 } methods })
            {
                continue;
            }

            var values = new RouteValueDictionary();
            if (!new TemplateMatcher(new RouteTemplate(endpoint.RoutePattern), []).TryMatch(path, values))
            {
                continue;
            }

            var answers = methods.Contains(HttpMethods.Get) && !HeadRequests.IsUnsafeGet(endpoint) ? [.. methods, HttpMethods.Head] : methods;
            matching.UnionWith(answers);
            if (endpoint.Metadata.GetOrderedMetadata<RouteValueShape>().All(shape => shape.Takes(values)))
            {
                taking.UnionWith(answers);
            }
        }

        return string.Join(", ", taking.Count > 0 ? taking : matching);
    }

    private sealed class RouteValueShape(string parameter, Func<string, bool> takes)
    {
        public bool Takes(RouteValueDictionary values) => values[parameter] is not string value || takes(value);
    }

    private sealed class Refusal
    {
        public static readonly Refusal Instance = new();
    }
}
