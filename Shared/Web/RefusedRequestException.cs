namespace WonderQ.Shared.Web;

/// <summary>
/// A request refused before any endpoint reads it, answered with this status and detail (keyed by
/// <see cref="Field"/> as a validation problem when it names one).
/// </summary>
public sealed class RefusedRequestException(int status, string title, string detail, string? field = null) : Exception(detail)
{
    public int Status { get; } = status;

    public string Title { get; } = title;

    public string Detail { get; } = detail;

    public string? Field { get; } = field;
}
