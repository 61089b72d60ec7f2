using WonderQ.Shared.Contracts;

namespace WonderQ.UserApp.Dispatch;

/// <summary>The body of <c>POST /dispatch</c>: which queue, and either one <c>body</c> or a number of stub messages.</summary>
/// <remarks>The defaults say to the OpenAPI document that neither is required.</remarks>
public sealed record DispatchRequest(long? QueueId, string? QueueName, string? Body = null, int? Stub = null);

/// <param name="Created">How many messages the broker accepted (the length of <paramref name="Messages"/>).</param>
/// <param name="Messages">The messages the broker accepted, in the order they were asked for.</param>
/// <param name="Failed">The messages that still failed after the client's retries.</param>
/// <param name="QueueCreated">True when this dispatch created the queue.</param>
public sealed record DispatchResponse(
    int Created,
    IReadOnlyList<DispatchedMessage> Messages,
    IReadOnlyList<FailedMessage> Failed,
    QueueDto Queue,
    bool QueueCreated);

public sealed record DispatchedMessage(long Id);

public sealed record FailedMessage(string Body, string Error);
