namespace WonderQ.UserApp.Listen;

public sealed record QueueSummary(long Id, string Name);

/// <summary>What a listener loop passes to the broker on each long poll.</summary>
public sealed record ListenSettings(int Size, int WaitTimeSeconds, int VisibilityTimeoutSeconds);

/// <summary>
/// A running (or just stopped) listener loop as <c>/listen</c> and <c>/listeners</c> show it. <see cref="PausedBecause"/>
/// says why a running loop consumes nothing (the broker out of reach, or refusing this app), null while it consumes.
/// </summary>
public sealed record ListenerView(
    bool Listening,
    QueueSummary Queue,
    long Processed,
    DateTimeOffset StartedAt,
    int Size,
    int WaitTime,
    int VisibilityTimeout,
    string? PausedBecause);

/// <summary>The query string of <c>DELETE /listen</c>, kept as text so a bad value gets a message naming the field.</summary>
public sealed record ListenerQuery(
    [property: Microsoft.AspNetCore.Mvc.FromQuery(Name = "queue_id")] string? QueueId,
    [property: Microsoft.AspNetCore.Mvc.FromQuery(Name = "queue_name")] string? QueueName);
