namespace WonderQ.Shared.Contracts;

/// <summary>Names a queue by id, by name, or by both (then both must match the same queue).</summary>
public readonly record struct QueueRef(long? Id, string? Name)
{
    public static QueueRef ById(long id) => new(id, null);

    public static QueueRef ByName(string name) => new(null, name);

    /// <summary>
    /// Reads a route segment: all digits is an id, anything else a name. Queue names may not be all digits,
    /// so the two never collide.
    /// </summary>
    public static QueueRef FromRouteSegment(string segment) =>
        QueueNames.IsAllDigits(segment) && long.TryParse(segment, out var id) ? ById(id) : ByName(segment);

    /// <summary>The route segment that names this queue: the id when known, else the name.</summary>
    public string ToRouteSegment() => Id?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? Name ?? "";

    public override string ToString() => (Id, Name) switch
    {
        ({ } id, { } name) => $"id {id} and name '{name}'",
        ({ } id, null) => $"id {id}",
        (null, { } name) => $"name '{name}'",
        _ => "no queue",
    };
}
