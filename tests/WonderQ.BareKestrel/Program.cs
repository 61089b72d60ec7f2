using System.Collections.Concurrent;
using System.Text.Json;

// The floor the broker is measured against (README, "Performance"): Kestrel answering the load tool's calls with no
// storage, no validation and no middleware, so that a run beside it shows what WonderQ's own work costs on the same
// machine in the same minutes. Messages live in memory and a long poll waits on a TaskCompletionSource, the least a
// queue can do over HTTP: enough for `idle-waiters` and `latency` to have a floor too. Not a queue to use: nothing is
// durable, a claimed message stays in flight until deleted (no visibility timeout), and only a claimed one can be
// deleted.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower);
var app = builder.Build();

// --Sink=true: a send is counted in its queue and its body dropped, for the scenarios that consume nothing (`produce`).
// Kept, a body outlives the young collections and is copied into the oldest generation, a million times over in a run:
// the reference then measured its heap growing more than Kestrel, at 30% fewer sends a second (32,820 against 47,246
// beside the sink, 35 against 22 µs of CPU a send, three rounds of `produce` side by side, 2026-12-05).
var sink = app.Configuration.GetValue<bool>("Sink");

var nextQueueId = 0L;
var nextMessageId = 0L;
var queues = new ConcurrentDictionary<long, MemoryQueue>();
var queuesByName = new ConcurrentDictionary<string, MemoryQueue>();
var inFlight = new ConcurrentDictionary<long, MemoryQueue>();

app.MapPost("/queues", (QueueRequest request) =>
{
    var queue = new MemoryQueue(Interlocked.Increment(ref nextQueueId), request.Name, inFlight);
    queues[queue.Id] = queue;
    queuesByName[queue.Name] = queue;
    return Results.Created((string?)null, new Queue(queue.Id, queue.Name, DateTimeOffset.UtcNow));
});
app.MapGet("/queues", () => queues.Values.Select(q => q.Counts()).ToArray());
app.MapDelete("/queues/{id:long}", (long id) =>
{
    if (!queues.TryRemove(id, out var queue))
    {
        return Results.NotFound(new Outcome(false));
    }

    // Only if the name is still this queue's: the reference lets two queues share one.
    queuesByName.TryRemove(KeyValuePair.Create(queue.Name, queue));
    return Results.Ok(new Outcome(true));
});
app.MapPost("/messages", (MessageRequest request) =>
{
    // By name too, as the wrk and h2load scripts send it (tests/WonderQ.LoadTest/wrk).
    if (!(request.QueueId is { } queueId ? queues.TryGetValue(queueId, out var queue) : queuesByName.TryGetValue(request.QueueName ?? "", out queue)))
    {
        return Results.NotFound();
    }

    var id = Interlocked.Increment(ref nextMessageId);
    if (sink)
    {
        queue.Sunk();
    }
    else
    {
        queue.Publish(new Message(id, request.Body, id.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    return Results.Created((string?)null, new Sent(id));
});
app.MapGet("/messages/consume", async (long queue_id, int? size, int? wait_time, HttpContext http) =>
    queues.TryGetValue(queue_id, out var queue)
        ? Results.Ok(await queue.ConsumeAsync(size ?? 1, TimeSpan.FromSeconds(wait_time ?? 20), http.RequestAborted))
        : Results.NotFound());
app.MapDelete("/messages/{id:long}", (long id) =>
{
    if (!inFlight.TryRemove(id, out var queue))
    {
        return Results.NotFound(new Outcome(false));
    }

    queue.Deleted();
    return Results.Ok(new Outcome(true));
});
app.MapGet("/healthz", () => "ok");
app.Run();

internal sealed class MemoryQueue(long id, string name, ConcurrentDictionary<long, MemoryQueue> inFlight)
{
    private readonly Lock _lock = new();
    private readonly Queue<Message> _ready = new();
    private readonly LinkedList<TaskCompletionSource<Message[]>> _waiting = new();
    private long _size;
    private long _sunk;

    public long Id => id;

    public string Name => name;

    public Counts Counts()
    {
        lock (_lock)
        {
            return new Counts(id, name, _size, _ready.Count + _sunk, _size - _ready.Count - _sunk);
        }
    }

    public void Publish(Message message)
    {
        lock (_lock)
        {
            _size++;
            if (_waiting.First is { } first)
            {
                // Handed to the longest-waiting consumer under the lock, so that its timeout cannot pass it by.
                _waiting.RemoveFirst();
                inFlight[message.Id] = this;
                first.Value.SetResult([message]);
                return;
            }

            _ready.Enqueue(message);
        }
    }

    /// <summary>A message sent with <c>--Sink=true</c>: counted, never handed out.</summary>
    public void Sunk()
    {
        lock (_lock)
        {
            _size++;
            _sunk++;
        }
    }

    public void Deleted()
    {
        lock (_lock)
        {
            _size--;
        }
    }

    public async Task<Message[]> ConsumeAsync(int size, TimeSpan wait, CancellationToken cancellationToken)
    {
        TaskCompletionSource<Message[]> handOver;
        LinkedListNode<TaskCompletionSource<Message[]>> node;
        lock (_lock)
        {
            if (_ready.Count > 0 || wait <= TimeSpan.Zero)
            {
                var batch = new Message[Math.Min(size, _ready.Count)];
                for (var i = 0; i < batch.Length; i++)
                {
                    batch[i] = _ready.Dequeue();
                    inFlight[batch[i].Id] = this;
                }

                return batch;
            }

            handOver = new TaskCompletionSource<Message[]>(TaskCreationOptions.RunContinuationsAsynchronously);
            node = _waiting.AddLast(handOver);
        }

        try
        {
            return await handOver.Task.WaitAsync(wait, cancellationToken);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            lock (_lock)
            {
                if (node.List is not null)
                {
                    _waiting.Remove(node);
                }
            }

            // A message handed over as the wait ended is answered rather than left in flight unseen.
            return handOver.Task.IsCompletedSuccessfully ? handOver.Task.Result : [];
        }
    }
}

internal sealed record Message(long Id, string Body, string ReservationToken);

internal sealed record QueueRequest(string Name);

internal sealed record Queue(long Id, string Name, DateTimeOffset CreatedAt);

internal sealed record Counts(long Id, string Name, long QueueSize, long RetrievableSize, long InFlightSize);

internal sealed record Outcome(bool Success);

internal sealed record MessageRequest(long? QueueId, string? QueueName, string Body);

internal sealed record Sent(long Id);
