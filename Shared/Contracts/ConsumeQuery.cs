using Microsoft.AspNetCore.Mvc;

namespace WonderQ.Shared.Contracts;

/// <summary>
/// The query string of a consume (and of the UserApp's <c>/listen</c>, which passes it on). Kept as text so that
/// a value like <c>size=abc</c> gets a validation message naming the field instead of a binding failure.
/// </summary>
public sealed record ConsumeQuery(
    [property: FromQuery(Name = "queue_id")] string? QueueId,
    [property: FromQuery(Name = "queue_name")] string? QueueName,
    [property: FromQuery(Name = "size")] string? Size,
    [property: FromQuery(Name = "wait_time")] string? WaitTime,
    [property: FromQuery(Name = "visibility_timeout")] string? VisibilityTimeout);
