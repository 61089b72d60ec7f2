using Microsoft.Net.Http.Headers;

namespace WonderQ.Shared.Web;

/// <summary>
/// For the apps in front of the broker (the DevTool and the UserApp): a request from a WonderQ broker client means
/// some app's <c>Broker:Url</c> points here. Answered as it was, a DevTool pointed at itself asked itself again for
/// every request, a chain of requests that ran until the first timed out, at 90% of a core.
/// </summary>
public static class NotTheBroker
{
    /// <summary>
    /// The <c>Via</c> the broker client sends on every request (RFC 9110 names loop detection among Via's uses); the
    /// broker ignores it.
    /// </summary>
    public const string ClientVia = "wonderq-broker-client";

    public static IApplicationBuilder RefuseBrokerClients(this IApplicationBuilder app, string appName) =>
        app.Use(next => context =>
        {
            foreach (var via in context.Request.Headers[HeaderNames.Via])
            {
                if (via?.Contains(ClientVia, StringComparison.OrdinalIgnoreCase) == true)
                {
                    // 421 Misdirected Request: sent to a server that is not the one to answer it.
                    throw new RefusedRequestException(
                        StatusCodes.Status421MisdirectedRequest,
                        "This is not a WonderQ broker.",
                        $"This is the WonderQ {appName}, not the broker: the app that sent this request has its Broker:Url pointing here.");
                }
            }

            return next(context);
        });
}
