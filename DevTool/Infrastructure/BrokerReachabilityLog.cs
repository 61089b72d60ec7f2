using System.Globalization;
using Microsoft.Extensions.Options;
using Polly.Timeout;
using WonderQ.Shared.Client;
using WonderQ.Shared.Web;

namespace WonderQ.DevTool.Infrastructure;

/// <summary>
/// Logs once when the broker stops answering and once when it is back. The dashboard polls every second, so logging
/// every failed call (as the resilience pipeline would) buries everything else in the log while the broker is down.
/// It sits outside the retries and timeouts, so it sees a call as it finally went: refused, timed out (a broker that
/// hangs), or answered, and never a request its caller gave up on. It is the DevTool's only log of an unreachable
/// broker: the exception handler leaves those to it (<see cref="BrokerReachability.Logs"/>).
/// </summary>
public sealed class BrokerReachabilityLog(
    BrokerReachability reachability, IOptions<BrokerClientOptions> options, ILogger<BrokerReachabilityLog> logger) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (reachability.MarkReachable())
            {
                logger.LogInformation("The broker at {Url} answers again.", options.Value.BaseAddress);
            }

            return response;
        }
        catch (Exception ex) when (IsUnreachable(ex))
        {
            if (reachability.MarkUnreachable())
            {
                logger.LogWarning("The broker at {Url} is unreachable ({Reason}); the dashboard shows a banner until it answers.",
                    options.Value.BaseAddress,
                    ex is TimeoutRejectedException timeout
                        ? $"no answer within {timeout.Timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s"
                        // HttpClient's message may quote what the server sent ("Received an invalid header name: '…'").
                        : LogText.Printable(ex.Message));
            }

            throw;
        }
    }

    /// <summary>A call that did not reach the broker, as this handler sees it.</summary>
    internal static bool IsUnreachable(Exception exception) => exception is HttpRequestException or TimeoutRejectedException;
}

/// <summary>Whether the last call reached the broker; one per app, shared by the handlers the client factory rotates.</summary>
public sealed class BrokerReachability : IFailureLog
{
    private int _unreachable;

    /// <summary>True when this changes the state (the broker was unreachable until now).</summary>
    public bool MarkReachable() => Interlocked.Exchange(ref _unreachable, 0) == 1;

    /// <summary>True when this changes the state (the broker was reachable until now).</summary>
    public bool MarkUnreachable() => Interlocked.Exchange(ref _unreachable, 1) == 0;

    /// <summary>
    /// The client's exception for a call <see cref="BrokerReachabilityLog"/> saw fail: logged there once per outage,
    /// so the exception handler's outage lines would only repeat it while the dashboard polls.
    /// </summary>
    public bool Logs(Exception exception) =>
        exception is BrokerUnavailableException { InnerException: { } inner } && BrokerReachabilityLog.IsUnreachable(inner);
}
