using System.ComponentModel.DataAnnotations;

namespace WonderQ.Shared.Web;

/// <summary>Section <c>ProblemLog</c>: how often an app logs the outages it answers 503.</summary>
public sealed class ProblemLogOptions : IValidatableObject
{
    public const string Section = "ProblemLog";

    /// <summary>
    /// At most one log line per interval for 503 answers (a broker or store down, the long-poll cap full), with a count
    /// of those not logged; zero logs each one.
    /// </summary>
    public TimeSpan OutageInterval { get; set; } = TimeSpan.FromSeconds(10);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (OutageInterval < TimeSpan.Zero || OutageInterval > TimeSpan.FromHours(1))
        {
            yield return new ValidationResult("ProblemLog:OutageInterval must be from 00:00:00 to 01:00:00.", [nameof(OutageInterval)]);
        }
    }
}
