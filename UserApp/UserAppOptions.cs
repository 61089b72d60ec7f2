using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using WonderQ.Shared.Validation;

namespace WonderQ.UserApp;

/// <summary>Section <c>UserApp</c>: how hard the sample producer pushes and how its listener loops behave.</summary>
public sealed class UserAppOptions : IValidatableObject
{
    public const string Section = "UserApp";

    /// <summary>How many messages one <c>/dispatch</c> sends to the broker at once.</summary>
    [Range(1, 256, ErrorMessage = "UserApp:DispatchParallelism must be from 1 to 256.")]
    public int DispatchParallelism { get; set; } = 16;

    /// <summary>The most stub messages one <c>/dispatch</c> may ask for.</summary>
    [Range(1, 1_000_000, ErrorMessage = "UserApp:MaxStub must be from 1 to 1000000.")]
    public int MaxStub { get; set; } = 10_000;

    /// <summary>
    /// The most messages all the <c>/dispatch</c> calls under way may be sending at once. Each call holds its bodies and
    /// its answer in memory and its own <see cref="DispatchParallelism"/> sends at the broker: without a cap across calls,
    /// one client could open a connection for each of the app's allowed ones and ask each for <see cref="MaxStub"/>.
    /// </summary>
    [Range(1, 100_000_000, ErrorMessage = "UserApp:MaxDispatchingMessages must be from 1 to 100000000.")]
    public int MaxDispatchingMessages { get; set; } = 100_000;

    /// <summary>
    /// The most listener loops at once. Each holds a long poll at the broker, and one who can reach the UserApp could
    /// otherwise start a loop for every queue it creates, until the broker's cap on waiting consumers turned away the
    /// consumers the broker is there for.
    /// </summary>
    [Range(1, 10_000, ErrorMessage = "UserApp:MaxListeners must be from 1 to 10000.")]
    public int MaxListeners { get; set; } = 100;

    /// <summary>The loop's <c>size</c> when <c>/listen</c> gives none.</summary>
    [Range(1, 10_000, ErrorMessage = "UserApp:ListenerSize must be from 1 to 10000.")]
    public int ListenerSize { get; set; } = 10;

    /// <summary>The loop's long-poll <c>wait_time</c> when <c>/listen</c> gives none.</summary>
    [Range(0, 3600, ErrorMessage = "UserApp:ListenerWaitTimeSeconds must be from 0 to 3600.")]
    public int ListenerWaitTimeSeconds { get; set; } = 20;

    /// <summary>The loop's <c>visibility_timeout</c> when <c>/listen</c> gives none.</summary>
    [Range(0, 7 * 24 * 3600, ErrorMessage = "UserApp:ListenerVisibilityTimeoutSeconds must be from 0 to 604800.")]
    public int ListenerVisibilityTimeoutSeconds { get; set; } = 30;

    /// <summary>The loop's first pause after the broker could not be reached; each later one doubles, up to the max.</summary>
    public TimeSpan ListenerInitialBackoff { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan ListenerMaxBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The loop's pause after an empty answer when its <c>wait_time</c> is 0, or when a long poll came back empty in less
    /// than half its <c>wait_time</c> (as a stopping broker answers), so that it does not spin.
    /// </summary>
    public TimeSpan ListenerIdleDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a stopping loop still tries to acknowledge a message it has already reported.</summary>
    public TimeSpan ListenerStopGrace { get; set; } = TimeSpan.FromSeconds(5);

    internal bool StopGraceValid => ListenerStopGrace >= TimeSpan.Zero && ListenerStopGrace <= TimeSpan.FromMinutes(1);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var initialValid = ListenerInitialBackoff > TimeSpan.Zero && ListenerInitialBackoff <= TimeSpan.FromMinutes(10);
        if (!initialValid)
        {
            yield return new ValidationResult(
                "UserApp:ListenerInitialBackoff must be more than 00:00:00 and at most 00:10:00.", [nameof(ListenerInitialBackoff)]);
        }

        // Compared with ListenerInitialBackoff only when that is valid, which is said otherwise on its own.
        if (ListenerMaxBackoff <= TimeSpan.Zero || ListenerMaxBackoff > TimeSpan.FromHours(1)
            || (initialValid && ListenerMaxBackoff < ListenerInitialBackoff))
        {
            yield return new ValidationResult(
                "UserApp:ListenerMaxBackoff must be at least UserApp:ListenerInitialBackoff and at most 01:00:00.", [nameof(ListenerMaxBackoff)]);
        }

        if (ListenerIdleDelay <= TimeSpan.Zero || ListenerIdleDelay > TimeSpan.FromMinutes(10))
        {
            yield return new ValidationResult(
                "UserApp:ListenerIdleDelay must be more than 00:00:00 and at most 00:10:00.", [nameof(ListenerIdleDelay)]);
        }

        // A dispatch of MaxStub messages that could never start would be refused for ever, whatever else ran.
        if (MaxDispatchingMessages < MaxStub && Settings.AreValid(this, nameof(MaxDispatchingMessages), nameof(MaxStub)))
        {
            yield return new ValidationResult(
                "UserApp:MaxDispatchingMessages must be at least UserApp:MaxStub.", [nameof(MaxDispatchingMessages)]);
        }

        if (!StopGraceValid)
        {
            yield return new ValidationResult(
                "UserApp:ListenerStopGrace must be from 00:00:00 to 00:01:00.", [nameof(ListenerStopGrace)]);
        }
    }
}

public static class UserAppOptionsValidation
{
    /// <summary>
    /// The listener's defaults go to the broker as they are: past these limits every poll would be a 400. A default or a
    /// limit that is invalid on its own is said by its own check, and not compared here as well.
    /// </summary>
    public static OptionsBuilder<UserAppOptions> ValidateListenerDefaultsWithinLimits(this OptionsBuilder<UserAppOptions> builder) =>
        builder
            .Validate<IOptions<LimitsOptions>>(
                (o, l) => Within(o, nameof(o.ListenerSize), l, nameof(LimitsOptions.MaxBatchSize), (u, m) => u.ListenerSize <= m.MaxBatchSize),
                "UserApp:ListenerSize must be at most Limits:MaxBatchSize.")
            .Validate<IOptions<LimitsOptions>>(
                (o, l) => Within(
                    o, nameof(o.ListenerWaitTimeSeconds), l, nameof(LimitsOptions.MaxWaitTimeSeconds), (u, m) => u.ListenerWaitTimeSeconds <= m.MaxWaitTimeSeconds),
                "UserApp:ListenerWaitTimeSeconds must be at most Limits:MaxWaitTimeSeconds.")
            .Validate<IOptions<LimitsOptions>>(
                (o, l) => Within(
                    o,
                    nameof(o.ListenerVisibilityTimeoutSeconds),
                    l,
                    nameof(LimitsOptions.MaxVisibilityTimeoutSeconds),
                    (u, m) => u.ListenerVisibilityTimeoutSeconds <= m.MaxVisibilityTimeoutSeconds),
                "UserApp:ListenerVisibilityTimeoutSeconds must be at most Limits:MaxVisibilityTimeoutSeconds.")
            // The host stops waiting for its services after its shutdown timeout: a longer grace would be cut short
            // there, and a message already printed would be printed again when it comes back.
            .Validate<IOptions<HostOptions>>(
                (o, h) => o.ListenerStopGrace == TimeSpan.Zero || !o.StopGraceValid || h.Value.ShutdownTimeout == Timeout.InfiniteTimeSpan
                    || o.ListenerStopGrace < h.Value.ShutdownTimeout,
                "UserApp:ListenerStopGrace must be less than the host's shutdown timeout (shutdownTimeoutSeconds, 30 unless set).");

    /// <summary>
    /// Whether the UserApp's <paramref name="setting"/> is within the Limits' <paramref name="limit"/>; so it is
    /// taken to be when either is invalid on its own (Limits with any setting refused is said as such).
    /// </summary>
    private static bool Within(
        UserAppOptions options, string setting, IOptions<LimitsOptions> limits, string limit, Func<UserAppOptions, LimitsOptions, bool> within)
    {
        LimitsOptions value;
        try
        {
            value = limits.Value;
        }
        catch (OptionsValidationException)
        {
            return true;
        }

        return !Settings.AreValid(options, setting) || !Settings.AreValid(value, limit) || within(options, value);
    }
}
