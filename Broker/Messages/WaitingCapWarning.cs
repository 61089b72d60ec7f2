using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using WonderQ.Shared.Validation;

namespace WonderQ.Broker.Messages;

/// <summary>
/// Over HTTP/1.1 each waiting consumer holds a connection of its own, so a cap on waiters at or above Kestrel's cap on
/// connections lets idle long polls take every connection and leave producers unable to connect. Over HTTP/2 many
/// polls share one connection, and such settings may be meant: said once at start, not refused.
/// </summary>
internal sealed class WaitingCapWarning(IOptions<LimitsOptions> limits, IOptions<KestrelServerOptions> kestrel, ILogger<WaitingCapWarning> logger)
    : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var waiters = limits.Value.MaxWaitingConsumers;
        if (kestrel.Value.Limits.MaxConcurrentConnections is { } connections && waiters >= connections)
        {
            logger.LogWarning(
                "Limits:MaxWaitingConsumers ({MaxWaitingConsumers}) is not below Kestrel:Limits:MaxConcurrentConnections ({MaxConcurrentConnections}): " +
                "over HTTP/1.1 every long poll holds a connection, so waiting consumers can take them all and no producer can connect. " +
                "That is fine only if consumers share connections over HTTP/2; otherwise lower the first or raise the second.",
                waiters,
                connections);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
