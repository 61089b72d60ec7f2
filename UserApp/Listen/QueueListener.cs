using System.Net;
using System.Text.Json;
using WonderQ.Shared.Client;
using WonderQ.Shared.Contracts;
using WonderQ.Shared.Web;

namespace WonderQ.UserApp.Listen;

/// <summary>
/// One queue's consume loop: long-poll, report each message, acknowledge it with its reservation token. A broker
/// that cannot be reached, or that refuses this app itself (its key, the name it calls the broker by), is waited out
/// with a capped exponential backoff; the loop ends only when it is stopped, the app stops, the queue is gone, or the
/// broker refuses what the loop asks of it.
/// </summary>
public sealed class QueueListener
{
    private readonly IServiceProvider _services;
    private readonly MessageOutput _output;
    private readonly TimeProvider _time;
    private readonly UserAppOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop;

    /// <summary>The queue's name as its log lines give it (<see cref="LogText"/>): the broker's answer named it.</summary>
    private readonly string _name;
    private long _processed;
    private string? _pausedBecause;

    public QueueListener(
        QueueSummary queue,
        ListenSettings settings,
        IServiceProvider services,
        MessageOutput output,
        TimeProvider time,
        UserAppOptions options,
        ILogger logger,
        CancellationToken appStopping)
    {
        Queue = queue;
        _name = LogText.Printable(queue.Name);
        Settings = settings;
        StartedAt = time.GetUtcNow();
        _services = services;
        _output = output;
        _time = time;
        _options = options;
        _logger = logger;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(appStopping);
    }

    public QueueSummary Queue { get; }

    public ListenSettings Settings { get; }

    public DateTimeOffset StartedAt { get; }

    public long Processed => Interlocked.Read(ref _processed);

    /// <summary>Why the loop is waiting for the broker rather than consuming; null while its calls get through.</summary>
    public string? PausedBecause => Volatile.Read(ref _pausedBecause);

    /// <summary>Asked to stop (or the app is stopping): it may still be acknowledging, but it takes no more messages.</summary>
    public bool IsStopping => _stop.IsCancellationRequested;

    /// <summary>Completes when the loop has ended; it never faults.</summary>
    public Task Completion { get; private set; } = Task.CompletedTask;

    /// <summary>A stopped loop waits for nothing: the broker's state is not why it stopped.</summary>
    public ListenerView View(bool listening) => new(
        listening, Queue, Processed, StartedAt, Settings.Size, Settings.WaitTimeSeconds, Settings.VisibilityTimeoutSeconds,
        listening ? PausedBecause : null);

    public void Start(Action<QueueListener> ended) =>
        Completion = Task.Run(async () =>
        {
            try
            {
                await RunAsync(_stop.Token);
            }
            finally
            {
                ended(this);
                // Linked to the app's stopping token, it would otherwise stay registered there until the app stops.
                _stop.Dispose();
            }
        });

    /// <summary>Stops the loop and waits for it to end.</summary>
    public async Task StopAsync()
    {
        try
        {
            await _stop.CancelAsync();
        }
        catch (ObjectDisposedException)
        {
            // The loop has ended already.
        }

        await Completion;
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        _logger.LogInformation("Listening on queue {Name} ({Id})", _name, Queue.Id);
        var failures = 0;
        string? failedBecause = null;
        // By id and name: a broker started afresh on a new database gives the id out again, to another queue, whose
        // messages this loop would take and delete. Named by both, that queue is a 404 and the loop ends.
        var queue = new QueueRef(Queue.Id, Queue.Name);
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                // The typed client is transient: taking a fresh one each round lets the factory rotate its handlers.
                var broker = _services.GetRequiredService<BrokerClient>();
                IReadOnlyList<MessageDto> messages;
                var asked = _time.GetTimestamp();
                try
                {
                    messages = await broker.ConsumeAsync(
                        queue, Settings.Size, Settings.WaitTimeSeconds, Settings.VisibilityTimeoutSeconds, stopping);
                }
                catch (BrokerException ex) when (ex.Status == HttpStatusCode.NotFound)
                {
                    LogQueueGone();
                    return;
                }
                catch (BrokerException ex) when (!IsTransient(ex))
                {
                    // A refusal of what the loop asks (a 400 for settings the broker does not allow), which no retry
                    // and no change to the broker's setup can change: said once, and the loop ends, rather than a
                    // warning every backoff for ever.
                    _logger.LogError(
                        "Listener on queue {Name} stops: the broker refused its consume ({Status}): {Reason}",
                        _name,
                        (int)ex.Status,
                        LogText.Printable(ex.Detail ?? ex.Title));
                    return;
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    failures++;
                    var delay = ListenerBackoff.Delay(failures, _options.ListenerInitialBackoff, _options.ListenerMaxBackoff, Random.Shared.NextDouble());
                    var reason = ex is BrokerException broken ? broken.Detail ?? broken.Title : ex.Message;
                    // A warning when the outage begins or its cause changes, not at every retry: a broker down for an
                    // hour would otherwise leave a line every ListenerMaxBackoff from each loop. Its end is said below.
                    _logger.Log(
                        reason == failedBecause ? LogLevel.Debug : LogLevel.Warning,
                        "Listener on queue {Name} could not consume ({Failures} in a row): {Reason} Retrying in {DelaySeconds:0.##} s, then less often, until it resumes",
                        _name,
                        failures,
                        LogText.Printable(reason),
                        delay.TotalSeconds);
                    failedBecause = reason;
                    Volatile.Write(ref _pausedBecause, reason);
                    await Task.Delay(delay, _time, stopping);
                    continue;
                }

                if (failures > 0)
                {
                    _logger.LogInformation("Listener on queue {Name} resumed after {Failures} failed {Attempts}", _name, failures, Plural(failures, "attempt"));
                    failures = 0;
                    failedBecause = null;
                    Volatile.Write(ref _pausedBecause, null);
                }

                // Without a long poll an empty queue answers at once, and so does a broker that is stopping, whatever
                // the wait: pause after an empty answer that came back early, or this loop and the broker spin.
                if (messages.Count == 0
                    && (Settings.WaitTimeSeconds == 0 || _time.GetElapsedTime(asked) < TimeSpan.FromSeconds(Settings.WaitTimeSeconds) / 2))
                {
                    await Task.Delay(_options.ListenerIdleDelay, _time, stopping);
                    continue;
                }

                if (!await ProcessAsync(broker, messages, _time.GetTimestamp(), stopping))
                {
                    LogQueueGone();
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Stopped: by DELETE /listen or the app shutting down.
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException)
        {
            // An answer no broker gives, to a delete or a find: the parser's message quotes its names and values, so
            // it is logged escaped, without the exception, whose text would repeat them raw.
            _logger.LogError(
                "Listener on queue {Name} failed and stopped: the server at Broker:Url did not answer like a WonderQ broker ({Reason})",
                _name,
                LogText.Printable(ex.Message));
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Listener on queue {Name} failed and stopped", _name);
        }
        finally
        {
            _logger.LogInformation(
                "Stopped listening on queue {Name} ({Id}) after {Processed} {Messages}", _name, Queue.Id, Processed, Plural(Processed, "message"));
        }
    }

    private static string Plural(long count, string noun) => count == 1 ? noun : noun + "s";

    private void LogQueueGone() => _logger.LogWarning("Queue {Name} ({Id}) no longer exists; its listener stops", _name, Queue.Id);

    /// <summary>
    /// Reports each message, then acknowledges it. Once stopping, a message not yet reported is left to come back
    /// after its visibility timeout, and one already reported still gets its acknowledgement, for up to
    /// <see cref="UserAppOptions.ListenerStopGrace"/>: cut short, it would be reported twice. Nor is a message reported
    /// once its reservation may have run out (the batch took longer than its visibility timeout): another consumer may
    /// hold it and report it by then. False when the queue was deleted mid-batch: the rest of the batch went with it.
    /// </summary>
    private async Task<bool> ProcessAsync(BrokerClient broker, IReadOnlyList<MessageDto> messages, long received, CancellationToken stopping)
    {
        // The broker answers a claim the moment it commits it, so the reservation runs from about when the answer came,
        // on this app's own clock (the broker's wall clock, in retrievable_at, may differ from it). Not from when the
        // consume was sent: a long poll may wait longer than the visibility timeout before it claims anything. A
        // visibility timeout of 0 reserves nothing.
        var reserved = TimeSpan.FromSeconds(Settings.VisibilityTimeoutSeconds);
        using var acknowledging = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _time);
        using var grace = stopping.Register(static state =>
        {
            var (source, period) = ((CancellationTokenSource, TimeSpan))state!;
            source.CancelAfter(period);
        }, (acknowledging, _options.ListenerStopGrace));
        for (var i = 0; i < messages.Count; i++)
        {
            var message = messages[i];
            if (stopping.IsCancellationRequested)
            {
                return true;
            }

            if (reserved > TimeSpan.Zero && _time.GetElapsedTime(received) >= reserved)
            {
                var left = messages.Count - i;
                _logger.LogWarning(
                    "Listener on queue {Name} left {Left} {Messages} of its batch unprocessed: their visibility timeout ({Seconds} s) ran out first, and they are delivered again",
                    _name,
                    left,
                    Plural(left, "message"),
                    Settings.VisibilityTimeoutSeconds);
                return true;
            }

            _output.Processing(message.Body);
            Interlocked.Increment(ref _processed);
            if (!await DeleteAsync(broker, message, acknowledging.Token))
            {
                if (await QueueGoneAsync(broker, acknowledging.Token))
                {
                    return false;
                }

                _logger.LogWarning("Message {Id} on queue {Name} was already gone when deleted", message.Id, _name);
            }
        }

        return true;
    }

    /// <summary>
    /// Whether the queue has been deleted, asked when a message of it was not there to delete. Deleted mid-batch, it
    /// took the rest of the batch with it: each would be printed, though no longer in any queue, and each delete warn
    /// that its message was already gone. An answer that cannot be had is taken as a queue still there: the next
    /// consume says for sure.
    /// </summary>
    private async Task<bool> QueueGoneAsync(BrokerClient broker, CancellationToken cancellationToken)
    {
        try
        {
            return await broker.FindQueueAsync(new QueueRef(Queue.Id, Queue.Name), cancellationToken) is null;
        }
        catch (BrokerException)
        {
            return false;
        }
    }

    /// <summary>
    /// Acknowledges a printed message. A broker that cannot be reached, is busy or refuses this app itself is waited
    /// out, with the loop's backoff, before the next message is printed: moving on would print the rest of the batch
    /// while none of its acknowledgements can get through, and every one of them would be delivered, and printed,
    /// again. The token keeps the late delete safe: past the visibility timeout it still holds unless another consumer
    /// has claimed the message since (then it is a 409, and the message is that consumer's). A refusal no retry
    /// changes is logged, not fatal: the message comes back after its visibility timeout. False when the message was
    /// not there to delete.
    /// </summary>
    private async Task<bool> DeleteAsync(BrokerClient broker, MessageDto message, CancellationToken cancellationToken)
    {
        var failures = 0;
        var mayHaveDeleted = false;
        try
        {
            while (true)
            {
                try
                {
                    // A 404 after a failed try that may have reached the broker is that try's work, most likely, not
                    // another consumer's: warned of as a message already gone, it would read as processed twice.
                    var deleted = await broker.DeleteMessageAsync(message.Id, message.ReservationToken, cancellationToken) || mayHaveDeleted;
                    if (failures > 0)
                    {
                        _logger.LogInformation(
                            "Listener on queue {Name} acknowledged message {Id} after {Failures} failed {Attempts}", _name, message.Id, failures, Plural(failures, "attempt"));
                    }

                    return deleted;
                }
                catch (BrokerException ex) when (IsTransient(ex))
                {
                    failures++;
                    mayHaveDeleted |= ex is BrokerUnavailableException { AnswerMayBeLost: true };
                    var delay = ListenerBackoff.Delay(failures, _options.ListenerInitialBackoff, _options.ListenerMaxBackoff, Random.Shared.NextDouble());
                    // Once per outage, as for a consume: the retries in between are at Debug.
                    _logger.Log(
                        failures == 1 ? LogLevel.Warning : LogLevel.Debug,
                        "Listener on queue {Name} could not delete message {Id} ({Failures} in a row): {Reason} Retrying in {DelaySeconds:0.##} s, then less often, before it processes another message",
                        _name,
                        message.Id,
                        failures,
                        LogText.Printable(ex.Detail ?? ex.Title),
                        delay.TotalSeconds);
                    Volatile.Write(ref _pausedBecause, ex.Detail ?? ex.Title);
                    await Task.Delay(delay, _time, cancellationToken);
                }
            }
        }
        catch (BrokerException ex)
        {
            _logger.LogWarning("Could not delete message {Id} on queue {Name}: {Reason}", message.Id, _name, LogText.Printable(ex.Detail ?? ex.Title));
            return true;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The stop's grace ran out mid-acknowledgement: the message was reported and will be again, so say so.
            _logger.LogWarning(
                "Message {Id} on queue {Name} was processed but not deleted before the listener stopped (UserApp:ListenerStopGrace); it will be delivered again after its visibility timeout",
                message.Id,
                _name);
            throw;
        }
        finally
        {
            // However the wait ended (acknowledged, given up on, or stopped), the loop no longer waits on the broker.
            if (failures > 0)
            {
                Volatile.Write(ref _pausedBecause, null);
            }
        }
    }

    /// <summary>
    /// A broker that could not be reached or answered with a server error, or a proxy's 408 or 429 in front of it: worth
    /// waiting out. So is a broker that refuses this app itself (its key, the name it is called by): that is fixed on
    /// the broker's side (a key added, AllowedHosts widened, the broker restarted with them) without touching this app,
    /// and a loop that had ended there would leave its queue to pile up unseen; the client logs the refusal once. Any
    /// other refusal (a 400 for what the loop asked) stays what it is however often it is asked.
    /// </summary>
    private static bool IsTransient(BrokerException ex) =>
        ex is BrokerUnavailableException or BrokerRefusedAppException
        || ex.Status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests;
}
