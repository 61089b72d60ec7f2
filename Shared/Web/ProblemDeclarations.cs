namespace WonderQ.Shared.Web;

/// <summary>The problems an endpoint answers for a reason common to many, declared once for its OpenAPI operation.</summary>
public static class ProblemDeclarations
{
    /// <summary>
    /// For an endpoint that reads a JSON body: a 413 for one over the request body limit, a 415 for one that is not
    /// JSON (or not UTF-8, or compressed), and a 408 for one sent slower than Kestrel:Limits:MinRequestBodyDataRate,
    /// which Kestrel cuts off.
    /// </summary>
    public static RouteHandlerBuilder ProducesBodyProblems(this RouteHandlerBuilder builder) =>
        builder.ProducesProblem(StatusCodes.Status408RequestTimeout).ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);

    /// <summary>
    /// For an endpoint that calls the broker: what <see cref="BrokerProblemMapper"/> makes of a call that failed, a 503
    /// for a broker down or busy, a 502 for one answering badly or refusing this app.
    /// </summary>
    public static RouteHandlerBuilder ProducesBrokerProblems(this RouteHandlerBuilder builder) =>
        builder.ProducesProblem(StatusCodes.Status502BadGateway).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
}
