using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace WonderQ.Shared.Validation;

/// <summary>The input limits, section <c>Limits</c>. Every app that takes these parameters checks them the same way.</summary>
public sealed class LimitsOptions : IValidatableObject
{
    public const string Section = "Limits";

    [Range(1, 1024, ErrorMessage = "Limits:MaxQueueNameLength must be from 1 to 1024.")]
    public int MaxQueueNameLength { get; set; } = 80;

    /// <summary>The largest message body, counted in UTF-8 bytes of the decoded string.</summary>
    [Range(1, 64 * 1024 * 1024, ErrorMessage = "Limits:MaxMessageBytes must be from 1 to 67108864.")]
    public int MaxMessageBytes { get; set; } = 256 * 1024;

    /// <summary>
    /// The largest request body. Above <see cref="MaxMessageBytes"/> because JSON escaping can make a body
    /// up to six times longer on the wire than the string it decodes to.
    /// </summary>
    // Bounds of the property's own type: with int bounds the attribute converts the value to int, and a value past
    // Int32 would throw instead of failing validation.
    [Range(typeof(long), "1024", "536870912", ParseLimitsInInvariantCulture = true, ConvertValueInInvariantCulture = true,
        ErrorMessage = "Limits:MaxRequestBodyBytes must be from 1024 to 536870912.")]
    public long MaxRequestBodyBytes { get; set; } = 2 * 1024 * 1024;

    /// <summary>The most messages one consume or peek returns (<c>size</c>).</summary>
    [Range(1, 10_000, ErrorMessage = "Limits:MaxBatchSize must be from 1 to 10000.")]
    public int MaxBatchSize { get; set; } = 100;

    /// <summary>
    /// The most bytes of message bodies one consume or peek returns, the first message whatever its size: a consumer that
    /// reads its answer slowly holds the broker's copy of it until it is done, and a hundred bodies of 256 KiB took
    /// 51 MB of the broker's memory for each such consumer. Not checked against <see cref="MaxMessageBytes"/>: below
    /// it, a message larger than this comes alone, and a broker set up for messages over 4 MiB before this setting
    /// was added still starts.
    /// </summary>
    [Range(1024, 1024 * 1024 * 1024, ErrorMessage = "Limits:MaxBatchBytes must be from 1024 to 1073741824.")]
    public int MaxBatchBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>The most any broker's <see cref="MaxWaitTimeSeconds"/> may be: no broker waits longer on a consume.</summary>
    public const int MaxWaitTimeSecondsTop = 3600;

    [Range(0, MaxWaitTimeSecondsTop, ErrorMessage = "Limits:MaxWaitTimeSeconds must be from 0 to 3600.")]
    public int MaxWaitTimeSeconds { get; set; } = 20;

    [Range(0, 7 * 24 * 3600, ErrorMessage = "Limits:MaxVisibilityTimeoutSeconds must be from 0 to 604800.")]
    public int MaxVisibilityTimeoutSeconds { get; set; } = 43_200;

    /// <summary>
    /// The most consumers one broker holds in a long poll at once; beyond it a consume that would wait is answered
    /// 503 at once, so idle connections cannot exhaust the broker's memory.
    /// </summary>
    [Range(1, 1_000_000, ErrorMessage = "Limits:MaxWaitingConsumers must be from 1 to 1000000.")]
    public int MaxWaitingConsumers { get; set; } = 20_000;

    /// <summary>
    /// The most queues the broker holds; past it a create is refused until one is deleted. Every queue is in each
    /// <c>GET /queues</c> answer and the dashboard's table, so a client that makes a queue per request (a name with
    /// an id in it, through <c>/dispatch</c>) would otherwise grow them without bound.
    /// </summary>
    [Range(1, 1_000_000, ErrorMessage = "Limits:MaxQueues must be from 1 to 1000000.")]
    public int MaxQueues { get; set; } = 10_000;

    [Range(1, 10_000, ErrorMessage = "Limits:DefaultConsumeSize must be from 1 to 10000.")]
    public int DefaultConsumeSize { get; set; } = 1;

    [Range(0, 3600, ErrorMessage = "Limits:DefaultWaitTimeSeconds must be from 0 to 3600.")]
    public int DefaultWaitTimeSeconds { get; set; } = 20;

    [Range(0, 7 * 24 * 3600, ErrorMessage = "Limits:DefaultVisibilityTimeoutSeconds must be from 0 to 604800.")]
    public int DefaultVisibilityTimeoutSeconds { get; set; } = 30;

    [Range(1, 10_000, ErrorMessage = "Limits:DefaultPeekSize must be from 1 to 10000.")]
    public int DefaultPeekSize { get; set; } = 10;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // Compared only when both are within their ranges: one that is not is said by its own attribute.
        if (MaxRequestBodyBytes < MaxMessageBytes && Settings.AreValid(this, nameof(MaxRequestBodyBytes), nameof(MaxMessageBytes)))
        {
            yield return new ValidationResult(
                "Limits:MaxRequestBodyBytes must be at least Limits:MaxMessageBytes, or no message of the largest size could be sent.",
                [nameof(MaxRequestBodyBytes)]);
        }
    }
}

/// <summary>
/// Each app checks the defaults it applies against their limits: a default past its limit would turn every request
/// that leaves the parameter out into a 400, or let it past the limit unchecked. The UserApp applies none of them,
/// so it is not refused over a default it never reads. A default or a limit out of its own range is said by its own
/// attribute, and not compared here as well.
/// </summary>
public static class LimitsDefaultsValidation
{
    public static OptionsBuilder<LimitsOptions> ValidatePeekDefault(this OptionsBuilder<LimitsOptions> builder) =>
        builder.Validate(
            l => l.DefaultPeekSize <= l.MaxBatchSize || !Settings.AreValid(l, nameof(l.DefaultPeekSize), nameof(l.MaxBatchSize)),
            "Limits:DefaultPeekSize must be at most Limits:MaxBatchSize.");

    public static OptionsBuilder<LimitsOptions> ValidateConsumeDefaults(this OptionsBuilder<LimitsOptions> builder) =>
        builder
            .Validate(
                l => l.DefaultConsumeSize <= l.MaxBatchSize || !Settings.AreValid(l, nameof(l.DefaultConsumeSize), nameof(l.MaxBatchSize)),
                "Limits:DefaultConsumeSize must be at most Limits:MaxBatchSize.")
            .Validate(
                l => l.DefaultWaitTimeSeconds <= l.MaxWaitTimeSeconds || !Settings.AreValid(l, nameof(l.DefaultWaitTimeSeconds), nameof(l.MaxWaitTimeSeconds)),
                "Limits:DefaultWaitTimeSeconds must be at most Limits:MaxWaitTimeSeconds.")
            .Validate(
                l => l.DefaultVisibilityTimeoutSeconds <= l.MaxVisibilityTimeoutSeconds
                    || !Settings.AreValid(l, nameof(l.DefaultVisibilityTimeoutSeconds), nameof(l.MaxVisibilityTimeoutSeconds)),
                "Limits:DefaultVisibilityTimeoutSeconds must be at most Limits:MaxVisibilityTimeoutSeconds.");
}
