using System.Text.Json;

// The floor the broker is measured against (README, "Performance"): Kestrel answering the calls of a produce run with
// no storage, no validation and no middleware, so that a load test run beside it shows what WonderQ's own work
// costs on the same machine in the same minutes. Not a queue: nothing is kept.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower);
var app = builder.Build();

var nextId = 0L;
app.MapPost("/queues", (QueueRequest queue) => Results.Created((string?)null, new Queue(1, queue.Name, DateTimeOffset.UtcNow)));
app.MapPost("/messages", (MessageRequest message) => Results.Created((string?)null, new Sent(Interlocked.Increment(ref nextId))));
app.MapGet("/healthz", () => "ok");
app.Run();

internal sealed record QueueRequest(string Name);

internal sealed record Queue(long Id, string Name, DateTimeOffset CreatedAt);

internal sealed record MessageRequest(long? QueueId, string? QueueName, string Body);

internal sealed record Sent(long Id);
