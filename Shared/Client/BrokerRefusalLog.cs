using Microsoft.Extensions.Logging;
using WonderQ.Shared.Web;

namespace WonderQ.Shared.Client;

/// <summary>
/// Logs once, as an error, when the broker begins to refuse this app itself (<see cref="BrokerRefusedAppException"/>),
/// and once when it takes its calls again. Every call is refused alike until an operator changes a setting, and the
/// dashboard polls each second: a line per request would bury the one that says which setting. The exception handler
/// leaves those answers to it.
/// </summary>
public sealed class BrokerRefusalLog(ILogger<BrokerClient> logger) : IFailureLog
{
    private string? _refusedBecause;

    internal void Refused(BrokerRefusedAppException refusal)
    {
        // Logged again only if the reason changes (a key fixed, and now the name refused).
        if (Interlocked.Exchange(ref _refusedBecause, refusal.Detail) != refusal.Detail)
        {
            logger.LogError("{Detail} Until that is fixed, each request through this app that needs the broker is answered 502.", refusal.Detail);
        }
    }

    internal void Accepted(Uri? brokerUrl)
    {
        // Read first: every successful call passes here, and most find nothing to say.
        if (Volatile.Read(ref _refusedBecause) is not null && Interlocked.Exchange(ref _refusedBecause, null) is not null)
        {
            logger.LogInformation("The broker at {Url} takes this app's calls again.", brokerUrl);
        }
    }

    public bool Logs(Exception exception) => exception is BrokerRefusedAppException;
}
