namespace WonderQ.UserApp.Infrastructure;

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
            StatusCodes.Status404NotFound => $"There is no endpoint at {request.Method} {request.Path}. The API is described at /openapi/v1.json.",
            StatusCodes.Status405MethodNotAllowed => $"{request.Path} does not take {request.Method}. The API is described at /openapi/v1.json.",
            StatusCodes.Status415UnsupportedMediaType => "Send the request body as JSON with 'Content-Type: application/json'.",
            _ => null,
        };
    }
}
