namespace WonderQ.Shared.Web;

public static class RequestQuery
{
    /// <summary>
    /// Refuses a query string that names a parameter its endpoint does not take (<c>?sise=5</c> for <c>size</c>), or
    /// gives one more than once (<c>?id=1&amp;id=1</c>, or <c>ID=1</c> beside <c>id=1</c>, as names match without regard
    /// to case). Ignored, a misspelt parameter silently takes its default; left to the endpoint, a repeated one arrives
    /// joined as "1,1": a range error that misleads, or a reservation token that matches nothing and turns a valid
    /// acknowledgement into a 409.
    /// </summary>
    /// <remarks>
    /// What an endpoint takes is read from what it binds, once per endpoint (<see cref="EndpointParameterCatalog"/>);
    /// a request pays a lookup and a comparison per parameter. An endpoint that takes neither query parameters nor a
    /// body is not checked for unknown names (<see cref="EndpointParameters.ChecksQuery"/>) or repeated ones, nor is a
    /// request no endpoint answers (the dashboard's files), so a cache-buster there keeps working.
    /// </remarks>
    public static IApplicationBuilder UseKnownQueryParameters(this IApplicationBuilder app)
    {
        var catalog = app.ApplicationServices.GetRequiredService<EndpointParameterCatalog>();
        return app.Use(next => context =>
        {
            if (context.Request.QueryString.HasValue)
            {
                var endpoint = context.GetEndpoint() is { } found ? catalog.Of(found) : null;
                foreach (var (key, values) in context.Request.Query)
                {
                    if (endpoint is { ChecksQuery: true } && !endpoint.TakesQueryParameter(key))
                    {
                        // Named as it was sent, so the client can find it in its request.
                        throw new RefusedRequestException(
                            StatusCodes.Status400BadRequest,
                            Problems.InvalidTitle,
                            endpoint.UnknownQueryParameter(key),
                            key);
                    }

                    // Only where a value is read: a cache-buster sent twice (?_=1&_=2) means nothing to an endpoint that
                    // takes no parameters, nor to a request no endpoint answers, which is answered 404 for its path.
                    if (values.Count > 1 && endpoint is { TakesNothing: false })
                    {
                        // Named as the API spells its parameters, whichever spelling came first.
                        var name = key.ToLowerInvariant();
                        throw new RefusedRequestException(
                            StatusCodes.Status400BadRequest,
                            Problems.InvalidTitle,
                            $"'{name}' is given {values.Count} times: give it once.",
                            name);
                    }
                }
            }

            return next(context);
        });
    }
}
