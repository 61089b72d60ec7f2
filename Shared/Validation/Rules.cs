using System.Globalization;
using System.Linq.Expressions;
using FluentValidation;
using WonderQ.Shared.Contracts;

namespace WonderQ.Shared.Validation;

/// <summary>The field rules every request shares, so the broker and the apps in front of it agree on them.</summary>
public static class Rules
{
    public static IRuleBuilderOptions<T, string?> ValidQueueName<T>(this IRuleBuilder<T, string?> rule, LimitsOptions limits) =>
        rule
            .Must(name => name is null || HasCharacterCount(name, 1, limits.MaxQueueNameLength))
            .WithMessage($"'{{PropertyName}}' must be 1 to {limits.MaxQueueNameLength} characters long.")
            .Must(name => name is null || QueueNames.HasOnlyAllowedCharacters(name))
            .WithMessage("'{PropertyName}' may contain only the letters A-Z and a-z, digits, '_' and '-'.")
            .Must(name => name is null || !QueueNames.IsAllDigits(name))
            .WithMessage("'{PropertyName}' may not be all digits: an all-digit segment is read as a queue id.");

    /// <summary>
    /// Whether <paramref name="value"/> has from min to max characters, counted as a person (and a JSON schema's
    /// maxLength) counts them: an emoji is one character, though two UTF-16 units. Counted in units, a name of 41 emoji
    /// was said to be over 80 characters long, rather than made of characters no name may have.
    /// </summary>
    public static bool HasCharacterCount(string value, int min, int max) =>
        value.Length >= min && (value.Length <= max || value.EnumerateRunes().Take(max + 1).Count() <= max);

    /// <summary>
    /// A <c>{queue}</c> route segment: all digits is an id, which must be a positive integer (queue names may not be
    /// all digits); anything else a name, which must be one a queue could have. A segment that could name no queue is a
    /// 400, not a search that cannot find it.
    /// </summary>
    public static void ValidQueueSegment<T>(this AbstractValidator<T> validator, Expression<Func<T, string?>> segment, LimitsOptions limits)
    {
        var read = segment.Compile();
        validator.RuleFor(segment).ValidQueueName(limits).When(x => read(x) is not { } value || !QueueNames.IsAllDigits(value));
        validator.RuleFor(segment)
            .Must(value => long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id > 0)
            .When(x => read(x) is { } value && QueueNames.IsAllDigits(value))
            // The range said, not "a positive integer": 9223372036854775808 is one, and past what an id can be.
            .WithMessage($"'{{PropertyName}}' must be a queue id (a whole number from 1 to {long.MaxValue}) or a queue name.");
    }

    /// <summary>A request names its queue by <c>queue_id</c>, <c>queue_name</c> or both; neither is a 400 keyed <c>queue_id</c>.</summary>
    public static void RequireQueue<T>(this AbstractValidator<T> validator, Func<T, bool> namesQueue) =>
        validator.RuleFor(r => r)
            .Must(namesQueue)
            .WithName("queue_id")
            .OverridePropertyName("queue_id")
            .WithMessage("'queue_id' or 'queue_name' is required.");

    /// <summary>
    /// A string that, when present, is not empty. Whitespace is text like any other, which FluentValidation's
    /// <c>NotEmpty</c> would refuse too.
    /// </summary>
    public static IRuleBuilderOptions<T, string?> NotEmptyWhenGiven<T>(this IRuleBuilder<T, string?> rule) =>
        rule.Must(value => value is null || value.Length > 0);

    public static IRuleBuilderOptions<T, long?> ValidId<T>(this IRuleBuilder<T, long?> rule) =>
        rule.GreaterThan(0).WithMessage("'{PropertyName}' must be a positive integer.");

    /// <summary>A query-string value that, when present, must be a whole number from min to max.</summary>
    public static IRuleBuilderOptions<T, string?> WholeNumber<T>(this IRuleBuilder<T, string?> rule, long min, long max) =>
        rule
            .Must(value => value is null || (TryParseWholeNumber(value, out var n) && n >= min && n <= max))
            .WithMessage(WholeNumberMessage("{PropertyName}", min, max));

    /// <summary>
    /// Reads a query-string value as a whole number. .NET's parser skips NUL characters at the end of a number (a habit
    /// of C strings), which would read <c>size=5%00</c> as 5 and act on it; no number of this API ends in one.
    /// </summary>
    public static bool TryParseWholeNumber(string value, out long number) =>
        long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out number) && !value.EndsWith('\0');

    /// <summary>What a whole number out of its range is told, in a validator or checked by hand.</summary>
    public static string WholeNumberMessage(string name, long min, long max) =>
        $"'{name}' must be a whole number from {min} to {max}.";

    /// <summary>Parses a value that <see cref="WholeNumber{T}"/> has already accepted.</summary>
    public static int ParseOr(string? value, int fallback) =>
        value is null ? fallback : int.Parse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);

    public static long? ParseId(string? value) =>
        value is null ? null : long.Parse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);

    /// <summary>True when an HTTP header can carry the value as it is: an API key on either side of the wire.</summary>
    public static bool IsPrintableAscii(string value) => !value.Any(c => c is < ' ' or > '~');
}
