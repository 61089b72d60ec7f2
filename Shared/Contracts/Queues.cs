namespace WonderQ.Shared.Contracts;

/// <summary>A queue as the broker stores it.</summary>
public sealed record QueueDto(long Id, string Name, DateTimeOffset CreatedAt);

/// <summary>A queue with its message counts at the moment it was read.</summary>
/// <param name="QueueSize">Every message in the queue.</param>
/// <param name="RetrievableSize">Messages a consumer could receive now.</param>
/// <param name="InFlightSize">Messages reserved under an unexpired visibility timeout.</param>
public sealed record QueueCounts(long Id, string Name, long QueueSize, long RetrievableSize, long InFlightSize);

public sealed record CreateQueueRequest(string? Name);

public sealed record SuccessResponse(bool Success);
