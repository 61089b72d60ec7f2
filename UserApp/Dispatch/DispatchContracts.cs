using WonderQ.Shared.Contracts;

namespace WonderQ.UserApp.Dispatch;

/// <summary>The body of <c>POST /dispatch</c>: which queue, and either one <c>body</c> or a number of stub messages.</summary>
public sealed record DispatchRequest(long? QueueId, string? QueueName, string? Body, int? Stub);

/// <param name="Created">True when this dispatch created the queue.</param>
/// <param name="Messages">The messages the broker accepted, in the order they were asked for.</param>
/// <param name="Failed">The messages that still failed after the client's retries.</param>
public sealed record DispatchResponse(QueueDto Queue, bool Created, IReadOnlyList<DispatchedMessage> Messages, IReadOnlyList<FailedMessage> Failed);

public sealed record DispatchedMessage(long Id);

public sealed record FailedMessage(string Body, string Error);
