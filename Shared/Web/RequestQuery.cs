namespace WonderQ.Shared.Web;

public static class RequestQuery
{
    /// <summary>
    /// Refuses a query string that gives a parameter more than once (<c>?id=1&amp;id=1</c>, or <c>ID=1</c> beside
    /// <c>id=1</c>, as names match without regard to case). Left to the endpoint, the values arrive joined as "1,1":
    /// a range error that misleads, or a reservation token that matches nothing and turns a valid acknowledgement
    /// into a 409.
    /// </summary>
    public static IApplicationBuilder UseSingleQueryValues(this IApplicationBuilder app) =>
        app.Use(next => context =>
        {
            if (context.Request.QueryString.HasValue)
            {
                foreach (var (key, values) in context.Request.Query)
                {
                    if (values.Count > 1)
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
