using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace WonderQ.Broker.Tests.LoadTool;

/// <summary>
/// An in-memory server that answers the broker API the way the original Node.js WonderQ (the seed) does, where that
/// differs from WonderQ's: 200 rather than 201, a queue without <c>created_at</c>, times as Unix milliseconds, and no
/// <c>GET /queues</c> (the original serves the counts from its dev tool). What the load tool must cope with to measure
/// the original side by side.
/// </summary>
public sealed class OriginalDialectServer : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<long, string> _queues = [];
    private readonly SortedDictionary<long, Stored> _messages = [];
    private readonly HashSet<long> _kept = [];
    private readonly Dictionary<long, int> _lost = [];
    private readonly WebApplication _app;
    private long _nextId;
    // Where busy work leaves its result.
    private long _work;
    private readonly TaskCompletionSource _consumeRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // Completed, and replaced, by each send: what a held long poll waits for.
    private TaskCompletionSource _sent = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private OriginalDialectServer(WebApplication app) => _app = app;

    public Uri Url { get; private set; } = null!;

    /// <summary>Done once the first consume has arrived.</summary>
    public Task ConsumeRequested => _consumeRequested.Task;

    /// <param name="loseEvery">Acknowledge every message but store only the others: every n-th is lost (0: none).</param>
    /// <param name="countsLost">Go on counting the lost ones in <c>GET /queues</c>'s <c>queue_size</c>, as a count kept apart from the rows may.</param>
    /// <param name="storeTwice">Store every message twice, under two ids, and answer with the first.</param>
    /// <param name="countsQueues">Serve <c>GET /queues</c>'s counts as WonderQ does, which the original does not.</param>
    /// <param name="dropLastCharacter">Store each body without its last character.</param>
    /// <param name="answerIdOffset">Answer a send with its message's id plus this (0: the right id).</param>
    /// <param name="keepDeleted">Answer a delete as done but keep the message.</param>
    /// <param name="keepFirstDeleted">
    /// Answer the first delete of each of the first n messages deleted as done but keep the message, so that it is
    /// delivered again once its reservation runs out (its next delete removes it).
    /// </param>
    /// <param name="bodyField">The name a consumed message's body goes under.</param>
    /// <param name="refuseDeletes">
    /// Refuse every delete with 409 and keep the message, as WonderQ does when a consume the run never heard of (a long
    /// poll it gave up on) has claimed the message again since.
    /// </param>
    /// <param name="consumeStatus">Answer every consume with this status and no messages (200: serve them).</param>
    /// <param name="createDelay">How long a queue's create takes to answer, as a server slow or hung in its setup.</param>
    /// <param name="sendDelay">How long each send takes to answer.</param>
    /// <param name="sendWork">
    /// Steps of busy work each send does before it answers: a server whose sends are dear. Work, not time, so that its
    /// CPU does not shrink when the thread is preempted.
    /// </param>
    /// <param name="consumeDelay">How long each consume waits before it claims messages.</param>
    /// <param name="consumeWork">Steps of busy work each consume does when it arrives, as <paramref name="sendWork"/>.</param>
    /// <param name="longPolls">
    /// Hold a consume that finds nothing until a send or its <c>wait_time</c>, as WonderQ does, rather than answer it
    /// empty after 20 ms, as the original's polling does: idle long polls that cost nothing while they wait.
    /// </param>
    /// <param name="hangConsumes">Answer no consume, holding each until its client leaves: a server stuck in its long polls.</param>
    /// <param name="consumeAnswer">Answer every consume 200 with this JSON text, claiming nothing (null: serve the messages).</param>
    /// <param name="createdAtMillis">Answer a queue's create with its <c>created_at</c> as Unix milliseconds, as the original gives a message's times.</param>
    /// <param name="createWithoutId">Answer a queue's create with its name alone.</param>
    /// <param name="countsAnswer">Answer <c>GET /queues</c> 200 with this JSON text (null: the counts, when <paramref name="countsQueues"/>).</param>
    /// <param name="sendAnswer">Answer every send 201 with this JSON text, storing the message all the same (null: its id).</param>
    /// <param name="countsWithoutSize">List the queues in <c>GET /queues</c> without their <c>queue_size</c>.</param>
    /// <param name="goneAfterFirstCount">
    /// Stop, refusing connections, once the first <c>GET /queues</c> is answered: a server gone right after a run's setup.
    /// </param>
    public static async Task<OriginalDialectServer> StartAsync(
        int loseEvery = 0, bool storeTwice = false, bool countsQueues = false, bool dropLastCharacter = false, long answerIdOffset = 0,
        bool keepDeleted = false, string bodyField = "body", bool refuseDeletes = false, int consumeStatus = StatusCodes.Status200OK,
        TimeSpan createDelay = default, TimeSpan sendDelay = default, bool goneAfterFirstCount = false, int keepFirstDeleted = 0,
        TimeSpan consumeDelay = default, long sendWork = 0, bool hangConsumes = false, string? consumeAnswer = null,
        bool createdAtMillis = false, bool createWithoutId = false, string? countsAnswer = null, bool countsWithoutSize = false,
        string? sendAnswer = null, long consumeWork = 0, bool longPolls = false, bool countsLost = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new OriginalDialectServer(app);
        app.MapPost("/queues", async (HttpContext context) =>
        {
            await Task.Delay(createDelay, context.RequestAborted);
            var name = (string)(await ReadAsync(context))["name"]!;
            lock (server._lock)
            {
                var id = ++server._nextId;
                server._queues[id] = name;
                var queue = new JsonObject { ["name"] = name };
                if (!createWithoutId)
                {
                    queue["id"] = id;
                }

                if (createdAtMillis)
                {
                    queue["created_at"] = Now();
                }

                return Results.Json(queue);
            }
        });
        if (countsAnswer is not null)
        {
            app.MapGet("/queues", () => Results.Text(countsAnswer, "application/json"));
        }
        else if (countsQueues)
        {
            app.MapGet("/queues", (HttpContext context) =>
            {
                if (goneAfterFirstCount)
                {
                    context.Response.OnCompleted(() =>
                    {
                        _ = Task.Run(() => app.StopAsync());
                        return Task.CompletedTask;
                    });
                }

                lock (server._lock)
                {
                    return Results.Json(new JsonArray([.. server._queues.Select(q =>
                    {
                        var queue = new JsonObject { ["id"] = q.Key, ["name"] = q.Value };
                        if (!countsWithoutSize)
                        {
                            var now = Now();
                            queue["queue_size"] = server._messages.Values.Count(m => m.QueueId == q.Key) + (countsLost ? server._lost.GetValueOrDefault(q.Key) : 0);
                            queue["in_flight_size"] = server._messages.Values.Count(m => m.QueueId == q.Key && m.RetrievableAt >= now);
                        }

                        return queue;
                    })]));
                }
            });
        }

        app.MapDelete("/queues/{id:long}", () => Results.Json(new JsonObject { ["success"] = true }));
        app.MapPost("/messages", async (HttpContext context) =>
        {
            await Task.Delay(sendDelay, context.RequestAborted);
            server.Work(sendWork);
            var request = await ReadAsync(context);
            if (dropLastCharacter)
            {
                request["body"] = ((string)request["body"]!)[..^1];
            }

            lock (server._lock)
            {
                var id = ++server._nextId;
                if (loseEvery == 0 || id % loseEvery != 0)
                {
                    server._messages[id] = new Stored((long)request["queue_id"]!, (string)request["body"]!, Now());
                }
                else
                {
                    CollectionsMarshal.GetValueRefOrAddDefault(server._lost, (long)request["queue_id"]!, out _)++;
                }

                if (storeTwice)
                {
                    server._messages[++server._nextId] = new Stored((long)request["queue_id"]!, (string)request["body"]!, Now());
                }

                Interlocked.Exchange(ref server._sent, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
                return sendAnswer is not null
                    ? Results.Text(sendAnswer, "application/json", statusCode: StatusCodes.Status201Created)
                    : Results.Json(new JsonObject { ["id"] = id + answerIdOffset });
            }
        });
        app.MapGet("/messages/consume", async (long queue_id, int size, int wait_time, int visibility_timeout, CancellationToken aborted) =>
        {
            server._consumeRequested.TrySetResult();
            server.Work(consumeWork);
            if (hangConsumes)
            {
                await Task.Delay(Timeout.Infinite, aborted);
            }

            // Not cancelled: a consume its client left still claims, as a long poll the run gave up on does.
            await Task.Delay(consumeDelay, CancellationToken.None);
            if (consumeStatus != StatusCodes.Status200OK)
            {
                return Results.StatusCode(consumeStatus);
            }

            if (consumeAnswer is not null)
            {
                return Results.Text(consumeAnswer, "application/json");
            }

            var waitUntil = Now() + (wait_time * 1000L);
            var answer = new JsonArray();
            while (true)
            {
                // Taken before looking, so that a send between the look and the wait still wakes this poll.
                var sent = Volatile.Read(ref server._sent).Task;
                server.Claim(answer, queue_id, size, visibility_timeout, bodyField);
                if (!longPolls || answer.Count > 0 || Now() >= waitUntil)
                {
                    break;
                }

                try
                {
                    await sent.WaitAsync(TimeSpan.FromMilliseconds(Math.Max(0, waitUntil - Now())), aborted);
                }
                catch (TimeoutException)
                {
                }
            }

            if (answer.Count == 0 && wait_time > 0 && !longPolls)
            {
                // The original polls again every 1-2 s; a short pause keeps idle consumers from spinning on the test machine.
                await Task.Delay(20, CancellationToken.None);
            }

            return Results.Json(answer);
        });
        app.MapDelete("/messages/{id:long}", (long id) =>
        {
            if (refuseDeletes)
            {
                return Results.Json(new JsonObject { ["success"] = false }, statusCode: StatusCodes.Status409Conflict);
            }

            lock (server._lock)
            {
                var keep = keepDeleted || (server._kept.Count < keepFirstDeleted && server._messages.ContainsKey(id) && server._kept.Add(id));
                return Results.Json(new JsonObject { ["success"] = keep || server._messages.Remove(id) });
            }
        });
        await app.StartAsync();
        server.Url = new Uri(app.Urls.First() + "/");
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    /// <summary>Busy work: steps, not time, so that its CPU does not shrink when the thread is preempted.</summary>
    private void Work(long steps)
    {
        var state = (ulong)steps;
        for (var step = 0L; step < steps; step++)
        {
            state = (state * 6364136223846793005UL) + 1442695040888963407UL;
        }

        // Kept, so that the compiler cannot drop the loop as unused.
        Interlocked.Add(ref _work, (long)(state & 1));
    }

    /// <summary>Reserves up to <paramref name="size"/> retrievable messages of the queue into <paramref name="answer"/>.</summary>
    private void Claim(JsonArray answer, long queueId, int size, int visibilityTimeout, string bodyField)
    {
        var now = Now();
        var until = now + (visibilityTimeout * 1000L);
        lock (_lock)
        {
            foreach (var (id, message) in _messages.Where(m => m.Value.QueueId == queueId && m.Value.RetrievableAt < now).Take(size).ToList())
            {
                var token = Guid.NewGuid().ToString("N")[..12];
                _messages[id] = message with { Token = token, RetrievableAt = until };
                answer.Add(new JsonObject
                {
                    ["id"] = id,
                    ["queue_id"] = queueId,
                    [bodyField] = message.Body,
                    ["retrievable_at"] = until,
                    ["reservation_token"] = token,
                    ["created_at"] = message.CreatedAt,
                });
            }
        }
    }

    private static async Task<JsonObject> ReadAsync(HttpContext context) =>
        (JsonObject)(await JsonNode.ParseAsync(context.Request.Body))!;

    private sealed record Stored(long QueueId, string Body, long CreatedAt, long RetrievableAt = 0, string? Token = null);
}
