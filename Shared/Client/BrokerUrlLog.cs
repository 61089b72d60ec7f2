using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace WonderQ.Shared.Client;

/// <summary>
/// Names the broker an app calls, once at start: a <c>Broker:Url</c> that points elsewhere than meant would show
/// otherwise only as 503s naming it, one request at a time.
/// </summary>
internal sealed class BrokerUrlLog(IOptions<BrokerClientOptions> options, ILogger<BrokerClient> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        logger.LogInformation("Using the broker at {BrokerUrl}", options.Value.BaseAddress);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
