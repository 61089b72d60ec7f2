namespace WonderQ.DevTool.Infrastructure;

public static class StatusDetails
{
    /// <summary>
    /// Gives the bare status answers the framework makes itself (no such route, wrong method, wrong content type)
    /// a detail a person can act on.
    /// </summary>
    public static void Fill(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        var request = context.HttpContext.Request;
        problem.Detail ??= problem.Status switch
        {
            StatusCodes.Status404NotFound => $"There is no endpoint at {request.Method} {request.Path}. The dashboard is at /; the API is GET /queues and GET /queues/{{queue}}.",
            StatusCodes.Status405MethodNotAllowed => $"{request.Path} does not take {request.Method}.",
            StatusCodes.Status415UnsupportedMediaType => "Send the request body as JSON with 'Content-Type: application/json'.",
            _ => null,
        };
    }
}
