namespace WonderQ.Shared.Contracts;

/// <summary>A message as the broker stores it.</summary>
/// <param name="RetrievableAt">When a consumed message becomes retrievable again; null if never consumed.</param>
/// <param name="ReservationToken">The token of the latest claim; null if never consumed.</param>
public sealed record MessageDto(
    long Id,
    long QueueId,
    string Body,
    DateTimeOffset CreatedAt,
    DateTimeOffset? RetrievableAt,
    string? ReservationToken,
    int ReceiveCount);

public sealed record SendMessageRequest(long? QueueId, string? QueueName, string? Body);

public sealed record SendMessageResponse(long Id);

/// <summary>A peek's answer: null <paramref name="Messages"/> when they had not changed since the tag sent with it.</summary>
/// <param name="ETag">The entity tag of these messages, to send with the next peek.</param>
public sealed record PeekResult(IReadOnlyList<MessageDto>? Messages, string? ETag);
