using System.Globalization;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using WonderQ.Shared.Validation;

namespace WonderQ.Shared.Web;

public static class StatusDetails
{
    /// <summary>
    /// How the detail of a 404 for a path no endpoint serves begins, in all three apps: the broker client reads it to
    /// tell a server that is no broker (a UserApp or DevTool at a mistyped <c>Broker:Url</c>) from a broker's "no such queue".
    /// </summary>
    public const string NoEndpointPrefix = "There is no endpoint at ";

    private const string WebDavUnprocessable = "https://tools.ietf.org/html/rfc4918#section-11.2";

    private const string HttpUnprocessable = "https://tools.ietf.org/html/rfc9110#section-15.5.21";

    private const string TooManyRequests = "https://tools.ietf.org/html/rfc6585#section-4";

    /// <summary>
    /// Gives the bare status answers the framework makes itself (no such route, wrong method, wrong content type, a
    /// body Kestrel cut off at its size limit or could not read) a detail a person can act on.
    /// </summary>
    public static void Fill(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        var request = context.HttpContext.Request;

        // The framework titles its own answers in the manner of a reason phrase ("Not Found", "Content Too Large"); the
        // apps' own answers for the same statuses read "Not found.", and a client that shows titles should see one wording.
        if (problem.Status is { } status && (problem.Title is null || !problem.Title.EndsWith('.')))
        {
            problem.Title = status switch
            {
                StatusCodes.Status400BadRequest => "The request could not be read.",
                StatusCodes.Status404NotFound => "Not found.",
                StatusCodes.Status405MethodNotAllowed => "Method not allowed.",
                StatusCodes.Status408RequestTimeout => "The request body came too slowly.",
                StatusCodes.Status413PayloadTooLarge => "The request is too large.",
                StatusCodes.Status415UnsupportedMediaType => "Unsupported media type.",
                _ => problem.Title,
            };
        }

        // ASP.NET Core's default type for a 422 points at WebDAV's RFC 4918, from before HTTP itself took the status in:
        // the broker's queue limit names RFC 9110, and the UserApp and the DevTool, passing that 422 on, said WebDAV.
        if (problem.Status == StatusCodes.Status422UnprocessableEntity && problem.Type == WebDavUnprocessable)
        {
            problem.Type = HttpUnprocessable;
        }

        // ASP.NET Core links a status's RFC for every problem status but 429, which HTTP's core RFC does not define; the
        // UserApp's caps answer it, and a client that reads types should find one there too.
        if (problem.Status == StatusCodes.Status429TooManyRequests)
        {
            problem.Type ??= TooManyRequests;
        }

        if (problem.Detail is null && problem.Status is StatusCodes.Status408RequestTimeout or StatusCodes.Status413PayloadTooLarge
            && !HttpProtocol.IsHttp2(request.Protocol) && !HttpProtocol.IsHttp3(request.Protocol))
        {
            // A body Kestrel cut off, or one over its limit, is never read to its end, so Kestrel cannot find the next
            // request after it and ends the connection once this is answered. Said here, a client that keeps its
            // connections alive does not send its next request down this one to find it reset. (The apps' own 413,
            // a message over Limits:MaxMessageBytes, comes with a detail of its own: its body was read whole.)
            context.HttpContext.Response.Headers.Connection = "close";
        }

        problem.Detail ??= problem.Status switch
        {
            // An asterisk-form target (OPTIONS *) has no path.
            StatusCodes.Status404NotFound => $"{NoEndpointPrefix}{request.Method} {(request.Path.HasValue ? request.Path : "*")}; the README lists the API.",
            StatusCodes.Status405MethodNotAllowed => $"{request.Path} does not take {request.Method}; the README lists the API.",
            StatusCodes.Status415UnsupportedMediaType => "Send the request body as JSON with 'Content-Type: application/json'.",
            StatusCodes.Status408RequestTimeout => TooSlow(context.HttpContext),
            StatusCodes.Status413PayloadTooLarge => TooLarge(context.HttpContext),
            StatusCodes.Status400BadRequest => "The request is malformed; check its body, content type and parameters.",
            >= 400 and < 500 => "The request was not accepted as sent; check its method, path, headers and body.",
            >= 500 => "The request could not be completed. Try again; if it keeps failing, see the app's log.",
            _ => null,
        };
    }

    /// <summary>
    /// Kestrel answers a slow request head itself; the only 408 an app sees is for a body that came slower than
    /// Kestrel's minimum rate, whose reader Kestrel then cut off.
    /// </summary>
    private static string TooSlow(HttpContext context)
    {
        var rate = context.RequestServices.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits.MinRequestBodyDataRate;
        var limit = rate is null
            ? ""
            : string.Create(CultureInfo.InvariantCulture, $" of {rate.BytesPerSecond} bytes/s after a grace of {rate.GracePeriod.TotalSeconds} s");
        return $"The request body arrived slower than the server's minimum rate{limit} (Kestrel:Limits:MinRequestBodyDataRate): send it without pauses.";
    }

    private static string TooLarge(HttpContext context)
    {
        var max = context.RequestServices.GetRequiredService<IOptions<LimitsOptions>>().Value.MaxRequestBodyBytes;
        return $"The request body is over the limit of {max} bytes (Limits:MaxRequestBodyBytes).";
    }
}
