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
                if (NamesBrokerClient(via))
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

    /// <summary>
    /// Whether a <c>Via</c> value lists this client as one of its hops: a member whose received-by is exactly
    /// <see cref="ClientVia"/> (RFC 9110: <c>received-protocol RWS received-by [RWS comment]</c>, members separated by
    /// commas). A proxy in front of the app adds a member of its own, whose name or comment may contain anything,
    /// this client's name among it, and is no reason to refuse.
    /// </summary>
    internal static bool NamesBrokerClient(string? via)
    {
        if (string.IsNullOrEmpty(via))
        {
            return false;
        }

        var value = via.AsSpan();
        foreach (var range in value.Split(','))
        {
            var member = value[range].Trim();
            var afterProtocol = member.IndexOfAny(' ', '\t');
            if (afterProtocol < 0)
            {
                continue;
            }

            var receivedBy = member[(afterProtocol + 1)..].TrimStart();
            var end = receivedBy.IndexOfAny(' ', '\t');
            if ((end < 0 ? receivedBy : receivedBy[..end]).Equals(ClientVia, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
