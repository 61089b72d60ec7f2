using System.ComponentModel.DataAnnotations;

namespace WonderQ.Shared.Web;

/// <summary>
/// Section <c>Outages</c>: what an app says and logs when it answers 503 (a broker or store down, the long-poll cap
/// full).
/// </summary>
public sealed class OutageOptions : IValidatableObject
{
    public const string Section = "Outages";

    /// <summary>At most one log line per interval for 503 answers, with a count of those not logged; zero logs each one.</summary>
    public TimeSpan LogInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The <c>Retry-After</c> of a 503: how long a client should wait before it tries again. The broker client's retries
    /// honour it.
    /// </summary>
    [Range(1, 3600, ErrorMessage = "Outages:RetryAfterSeconds must be from 1 to 3600.")]
    public int RetryAfterSeconds { get; set; } = 1;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (LogInterval < TimeSpan.Zero || LogInterval > TimeSpan.FromHours(1))
        {
            yield return new ValidationResult("Outages:LogInterval must be from 00:00:00 to 01:00:00.", [nameof(LogInterval)]);
        }
    }
}
