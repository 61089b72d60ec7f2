using System.Globalization;
using System.Net;
using Microsoft.Extensions.Options;
using WonderQ.Shared.Client;
using WonderQ.Shared.Contracts;
using WonderQ.Shared.Web;

namespace WonderQ.UserApp.Dispatch;

/// <summary>Finds or creates the queue, then sends the messages through the typed client with bounded parallelism.</summary>
public sealed class Dispatcher(
    BrokerClient broker, IOptions<UserAppOptions> options, TimeProvider time, IHostApplicationLifetime lifetime, ILogger<Dispatcher> logger)
{
    /// <summary>For a send whose answer was lost: the broker may have committed it before, and a caller who sends it again should know.</summary>
    private const string MayBeStored = "The broker may have stored it all the same, its answer lost: sending it again can store it twice.";

    /// <summary>The queue and whether this call created it; null for an id that names no queue.</summary>
    public async Task<(QueueDto Queue, bool Created)?> FindOrCreateAsync(QueueRef queue, CancellationToken cancellationToken)
    {
        if (await broker.FindQueueAsync(queue, cancellationToken) is { } found)
        {
            return (found, false);
        }

        if (queue.Id is not null || queue.Name is not { } name)
        {
            // Only a name can be created; an id (alone or beside a name) must already exist.
            return null;
        }

        try
        {
            var created = await broker.CreateQueueAsync(name, cancellationToken);
            logger.LogInformation("Created queue {Name} ({Id})", LogText.Printable(created.Name), created.Id);
            return (created, true);
        }
        catch (BrokerException ex) when (ex.Status == HttpStatusCode.Conflict)
        {
            // Another dispatch created it between our find and our create: use theirs.
            return await broker.FindQueueAsync(queue, cancellationToken) is { } raced
                ? (raced, false)
                : throw new BrokerException(HttpStatusCode.Conflict, ex.Title, $"The queue '{name}' was created and deleted again while this dispatch ran; try again.");
        }
    }

    /// <summary>Sends one message, or <paramref name="stub"/> generated ones, and reports which made it.</summary>
    public async Task<(IReadOnlyList<DispatchedMessage> Sent, IReadOnlyList<FailedMessage> Failed)> SendAsync(
        QueueDto queue, string? body, int stub, CancellationToken cancellationToken)
    {
        var count = body is null ? stub : 1;
        var bodies = new string[count];
        var ids = new long?[count];
        var errors = new string?[count];
        var attempted = new bool[count];
        var target = QueueRef.ById(queue.Id);
        string? stopped = null;

        try
        {
            await Parallel.ForEachAsync(
                Enumerable.Range(0, count),
                new ParallelOptions { MaxDegreeOfParallelism = options.Value.DispatchParallelism, CancellationToken = cancellationToken },
                async (i, ct) =>
                {
                    bodies[i] = Body(i);

                    // No new sends once the app stops (the sends under way have Broker:StopGrace to be answered,
                    // and the caller gets the partial answer) or once one has failed after all its retries: the rest
                    // would each wait out theirs too.
                    if (lifetime.ApplicationStopping.IsCancellationRequested)
                    {
                        errors[i] = "Not sent: the UserApp is shutting down.";
                        return;
                    }

                    if (Volatile.Read(ref stopped) is { } reason)
                    {
                        errors[i] = $"Not sent: an earlier message failed ({reason}).";
                        return;
                    }

                    try
                    {
                        attempted[i] = true;
                        ids[i] = (await broker.SendAsync(target, bodies[i], ct)).Id;
                    }
                    catch (BrokerException ex)
                    {
                        // The broker's 404 names the id this dispatch looked up, which a caller who gave a name never saw.
                        var error = ex.Status == HttpStatusCode.NotFound
                            ? $"The queue '{queue.Name}' ({queue.Id}) was deleted while this dispatch ran; the messages sent to it before went with it."
                            : ex.Detail ?? ex.Title;
                        errors[i] = ex is BrokerUnavailableException { AnswerMayBeLost: true } ? $"{error} {MayBeStored}" : error;
                        Interlocked.CompareExchange(ref stopped, error, null);
                    }
                    catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
                    {
                        errors[i] = "Not confirmed: the UserApp stopped waiting for the broker's answer as it shut down; the broker may have stored it.";
                    }
                });
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && lifetime.ApplicationStopping.IsCancellationRequested)
        {
            // Cut short by the app's stop, not by its caller, who is still there to read which went out.
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The caller left (a client's timeout, a Ctrl-C) and no answer will say what was sent: the log does, or the
            // messages already in the queue would be unexplained.
            logger.LogWarning(
                "A dispatch of {Count} messages to queue {Name} stopped when its caller went away: {Sent} were sent, and " +
                "{UnderWay} under way then may have been stored all the same",
                count,
                LogText.Printable(queue.Name),
                ids.Count(id => id is not null),
                Enumerable.Range(0, count).Count(i => attempted[i] && ids[i] is null && errors[i] is null));
            throw;
        }

        var sent = new List<DispatchedMessage>(count);
        var failed = new List<FailedMessage>();
        for (var i = 0; i < count; i++)
        {
            if (ids[i] is { } id)
            {
                sent.Add(new DispatchedMessage(id));
            }
            else
            {
                failed.Add(new FailedMessage(bodies[i] ?? Body(i), errors[i] ?? "Not sent: the UserApp is shutting down."));
            }
        }

        if (failed.Count > 0)
        {
            // The broker's words, passed on as they are in the answer's JSON, are escaped in the log (LogText).
            logger.LogWarning(
                "{Failed} of {Count} messages to queue {Name} were not sent; the first: {Error}",
                failed.Count,
                count,
                LogText.Printable(queue.Name),
                LogText.Printable(failed[0].Error));
        }

        return (sent, failed);

        // The timestamp is taken as each stub goes out, so it tells when it was sent.
        string Body(int i) => body ?? string.Create(CultureInfo.InvariantCulture, $"message #{i + 1} at {time.GetUtcNow().ToUnixTimeMilliseconds()}");
    }
}
