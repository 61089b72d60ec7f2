using System.ComponentModel.DataAnnotations;

namespace WonderQ.Broker.Infrastructure;

/// <summary>Section <c>Memory</c>: when a broker gone idle after a busy spell gives back the memory the spell left.</summary>
public sealed class MemoryOptions : IValidatableObject
{
    public const string Section = "Memory";

    /// <summary>
    /// How long the broker must go without a garbage collection (so with next to no requests) before it collects once
    /// and returns the free memory to the system; zero never does.
    /// </summary>
    public TimeSpan IdleCollectAfter { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The least the heap must hold, more than the last such collection left, for the next to be worth its pause.
    /// </summary>
    [Range(0, 1L << 40, ErrorMessage = "Memory:IdleCollectMinBytes must be from 0 to 1099511627776.")]
    public long IdleCollectMinBytes { get; set; } = 64 * 1024 * 1024;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (IdleCollectAfter != TimeSpan.Zero && (IdleCollectAfter < TimeSpan.FromSeconds(1) || IdleCollectAfter > TimeSpan.FromDays(1)))
        {
            yield return new ValidationResult(
                "Memory:IdleCollectAfter must be 00:00:00 (never) or from 00:00:01 to 1.00:00:00.", [nameof(IdleCollectAfter)]);
        }
    }
}
