using Microsoft.AspNetCore.Mvc;

namespace WonderQ.Shared.Contracts;

/// <summary>The query string of <c>GET /queues/find</c>: a queue's id, its name, or both. Kept as text, as <see cref="ConsumeQuery"/> is.</summary>
public sealed record FindQueueQuery(
    [property: FromQuery(Name = "id")] string? Id,
    [property: FromQuery(Name = "name")] string? Name);
