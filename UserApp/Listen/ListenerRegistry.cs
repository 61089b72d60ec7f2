using Microsoft.Extensions.Options;
using WonderQ.Shared.Contracts;
using WonderQ.Shared.Web;

namespace WonderQ.UserApp.Listen;

/// <summary>
/// The running listener loops, at most one per queue. Loops start on request rather than at startup, so they are
/// not hosted services each; this registry is the hosted service that owns them and ends them all when the app
/// stops.
/// </summary>
public sealed class ListenerRegistry(
    IServiceProvider services,
    MessageOutput output,
    TimeProvider time,
    IOptions<UserAppOptions> options,
    IHostApplicationLifetime lifetime,
    ILogger<QueueListener> logger) : IHostedService
{
    private readonly Dictionary<long, QueueListener> _listeners = [];
    // Every loop not yet ended, including one still acknowledging after a newer loop took its queue: shutdown waits for
    // those as well.
    private readonly HashSet<QueueListener> _loops = [];
    private readonly Lock _lock = new();
    // Never disposed: it has no timer to release, and the host may call StopAsync after disposing its services.
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>
    /// Starts a loop for the queue, or returns the one already running (then Started is false); null when
    /// <see cref="UserAppOptions.MaxListeners"/> loops run already.
    /// </summary>
    public (QueueListener? Listener, bool Started) Start(QueueSummary queue, ListenSettings settings)
    {
        lock (_lock)
        {
            // A request that found its queue as the app began to stop: a loop started now would end at once, and its 202
            // promise a listener that nothing keeps.
            if (_stopping.IsCancellationRequested)
            {
                throw new AppStoppingException(
                    "The UserApp is shutting down, and starts no listener loop now. Try again once the app is back.",
                    new OperationCanceledException(_stopping.Token));
            }

            // A loop winding down after DELETE /listen is not the queue's listener any more: a new one takes its place.
            if (_listeners.TryGetValue(queue.Id, out var running) && !running.IsStopping)
            {
                return (running, false);
            }

            if (_listeners.Values.Count(l => !l.IsStopping) >= options.Value.MaxListeners)
            {
                return (null, false);
            }

            var listener = new QueueListener(queue, settings, services, output, time, options.Value, logger, _stopping.Token);
            _listeners[queue.Id] = listener;
            _loops.Add(listener);
            listener.Start(Remove);
            return (listener, true);
        }
    }

    public IReadOnlyList<QueueListener> List()
    {
        lock (_lock)
        {
            return [.. _listeners.Values.OrderBy(l => l.Queue.Id)];
        }
    }

    /// <summary>
    /// The running loop for a queue named by id, name or both (then both must match). Of two loops under one name (a
    /// queue deleted and created again, whose old loop has not ended yet) the newer queue's, which has the higher id.
    /// </summary>
    public QueueListener? Find(QueueRef queue)
    {
        if (queue.Id is null && queue.Name is null)
        {
            return null;
        }

        lock (_lock)
        {
            return _listeners.Values
                .Where(l => !l.IsStopping && (queue.Id is null || l.Queue.Id == queue.Id) && (queue.Name is null || l.Queue.Name == queue.Name))
                .MaxBy(l => l.Queue.Id);
        }
    }

    /// <summary>Stops the queue's loop and waits for it to end; null when none runs.</summary>
    public async Task<QueueListener?> StopAsync(QueueRef queue)
    {
        if (Find(queue) is not { } listener)
        {
            return null;
        }

        await listener.StopAsync();
        return listener;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Loops start to wind down the moment shutdown begins, not only when this service's turn to stop comes.
        lifetime.ApplicationStopping.Register(_stopping.Cancel);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        Task[] loops;
        lock (_lock)
        {
            loops = [.. _loops.Select(l => l.Completion)];
        }

        try
        {
            await Task.WhenAll(loops).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The host's shutdown timeout ran out; the loops are cancelled and will end on their own.
        }
    }

    private void Remove(QueueListener listener)
    {
        lock (_lock)
        {
            _loops.Remove(listener);
            if (_listeners.TryGetValue(listener.Queue.Id, out var current) && ReferenceEquals(current, listener))
            {
                _listeners.Remove(listener.Queue.Id);
            }
        }
    }
}
