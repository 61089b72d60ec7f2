using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Hosting;

namespace WonderQ.Broker.Tests;

/// <summary>
/// Lets requests in flight finish before the test host disposes the broker's services, as Kestrel does when it
/// stops. The in-memory TestServer does not wait for them: without this, a consumer answered on shutdown would be
/// cut off by the disposed service provider, a failure no real client could see.
/// </summary>
public sealed class InFlightRequests : IHostedService
{
    private readonly Lock _lock = new();
    private TaskCompletionSource _idle = NewIdle(completed: true);
    private int _count;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return _idle.Task.WaitAsync(cancellationToken);
        }
    }

    private void Enter()
    {
        lock (_lock)
        {
            if (_count++ == 0)
            {
                _idle = NewIdle(completed: false);
            }
        }
    }

    private void Leave()
    {
        lock (_lock)
        {
            if (--_count == 0)
            {
                _idle.TrySetResult();
            }
        }
    }

    private static TaskCompletionSource NewIdle(bool completed)
    {
        var idle = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (completed)
        {
            idle.SetResult();
        }

        return idle;
    }

    public sealed class StartupFilter(InFlightRequests requests) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (context, nextMiddleware) =>
            {
                requests.Enter();
                try
                {
                    await nextMiddleware(context);
                }
                finally
                {
                    requests.Leave();
                }
            });
            next(app);
        };
    }
}
