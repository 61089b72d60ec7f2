using Microsoft.Extensions.Logging;

namespace WonderQ.Shared.Client;

/// <summary>
/// Warns once when the client begins retrying a broker that does not answer, or answers busy, and says once when it
/// answers again. A broker's restart (2-3 s) is ridden out within one call's retries, so an app whose own loop logs only
/// the calls that failed for good would show nothing of it; each retry after the first of an outage is at Debug.
/// </summary>
public sealed class BrokerRetryLog(ILogger<BrokerClient> logger)
{
    private string? _retryingBecause;

    internal void Retrying(Uri? brokerUrl, string reason, int maxRetries)
    {
        // Again as a warning only if the cause changes (a refused connection, then a broker answering 503 as it starts).
        var level = Interlocked.Exchange(ref _retryingBecause, reason) == reason ? LogLevel.Debug : LogLevel.Warning;
        logger.Log(level, "The broker at {Url} {Reason}: retrying, with backoff, up to {MaxRetries} times a call (Broker:MaxRetries).", brokerUrl, reason, maxRetries);
    }

    internal void Answered(Uri? brokerUrl)
    {
        // Read first: every successful call passes here, and most find nothing to say.
        if (Volatile.Read(ref _retryingBecause) is not null && Interlocked.Exchange(ref _retryingBecause, null) is not null)
        {
            logger.LogInformation("The broker at {Url} answers again.", brokerUrl);
        }
    }
}
