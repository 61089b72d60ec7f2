using System.Reflection;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;

namespace WonderQ.Shared.Web;

/// <summary>
/// <c>Kestrel:Limits</c>: Kestrel reads its endpoints and certificates from its section of the configuration, but not
/// its limits, which would otherwise be written in appsettings.json and never applied.
/// </summary>
internal static class KestrelLimits
{
    public const string Section = "Kestrel:Limits";

    /// <summary>
    /// Kestrel checks a limit as it is set, and says what is wrong without naming the setting: each value is set on its
    /// own so that a refusal can name its key. A key Kestrel has no limit for is refused too, since a misspelt limit
    /// would otherwise be ignored.
    /// </summary>
    public static void Bind(KestrelServerLimits limits, IConfiguration configuration)
    {
        foreach (var rate in configuration.GetSection(Section).GetChildren().Where(c => IsDataRate(c.Key)))
        {
            BindDataRate(limits, rate);
        }

        foreach (var (key, value) in configuration.GetSection(Section).AsEnumerable(makePathsRelative: true))
        {
            if (value is null || IsDataRate(key.Split(':')[0]))
            {
                continue;
            }

            // The binder reads an empty value as none, so a cap Kestrel allows to be null (MaxConcurrentConnections,
            // MaxRequestBufferSize) was taken off without a word, when the value most likely comes from a variable left
            // unset (--Kestrel:Limits:MaxConcurrentConnections=$MAX_CONNECTIONS); any other limit cannot convert it.
            if (value.Length == 0)
            {
                throw new StartRefusedException($"{Section}:{key} is empty: give it a value (appsettings.json has each limit's default).");
            }

            // Two settings for one limit would leave the operator guessing which one holds.
            if (key.Equals(nameof(KestrelServerLimits.MaxRequestBodySize), StringComparison.OrdinalIgnoreCase))
            {
                throw new StartRefusedException($"{Section}:{key} is not read: the limit on a request body is Limits:MaxRequestBodyBytes.");
            }

            try
            {
                new ConfigurationBuilder().AddInMemoryCollection([new(key, value)]).Build()
                    .Bind(limits, options => options.ErrorOnUnknownConfiguration = true);
            }
            // The binder wraps what a value's conversion or Kestrel's setter threw; its only complaint of its own here
            // is a key that names no property.
            catch (InvalidOperationException ex) when (ex.InnerException is null)
            {
                throw new StartRefusedException($"{Section}:{key} is not one of Kestrel's limits: check its spelling against appsettings.json.", ex);
            }
            catch (Exception ex) when (ex is InvalidOperationException or TargetInvocationException)
            {
                throw new StartRefusedException($"{Section}:{key} cannot be {value}: {Reason(ex.InnerException!)}", ex);
            }
        }

        // Kestrel compares these only as it starts, where the process aborts with a stack trace.
        if (limits.MaxRequestBufferSize is { } buffer && Math.Max(limits.MaxRequestLineSize, limits.MaxRequestHeadersTotalSize) > buffer)
        {
            throw new StartRefusedException(
                $"{Section}:MaxRequestLineSize ({limits.MaxRequestLineSize}) and {Section}:MaxRequestHeadersTotalSize "
                + $"({limits.MaxRequestHeadersTotalSize}) must be at most {Section}:MaxRequestBufferSize ({buffer}, Kestrel's "
                + "default unless set), the buffer that holds them.");
        }
    }

    private static bool IsDataRate(string key) =>
        key.Equals(nameof(KestrelServerLimits.MinRequestBodyDataRate), StringComparison.OrdinalIgnoreCase)
        || key.Equals(nameof(KestrelServerLimits.MinResponseDataRate), StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// A <see cref="MinDataRate"/> has no setters: the binder would take its two keys and set nothing, so a rate is
    /// built here, each key read on its own so that a refusal names the one that is wrong. An empty value (or a JSON
    /// null where no other file gives its keys) turns the rate off, as Kestrel's null does.
    /// </summary>
    private static void BindDataRate(KestrelServerLimits limits, IConfigurationSection rate)
    {
        var isRequest = rate.Key.Equals(nameof(KestrelServerLimits.MinRequestBodyDataRate), StringComparison.OrdinalIgnoreCase);
        var current = isRequest ? limits.MinRequestBodyDataRate : limits.MinResponseDataRate;
        MinDataRate? value;

        // An empty value given on top of appsettings.json's two keys (--Kestrel:Limits:MinResponseDataRate=) wins.
        if (rate.Value is { Length: 0 } || (rate.Value is null && !rate.GetChildren().Any()))
        {
            value = null;
        }
        else if (rate.Value is not null)
        {
            throw new StartRefusedException(
                $"{Section}:{rate.Key} cannot be set so: give its BytesPerSecond and GracePeriod, or an empty value to turn it off.");
        }
        else
        {
            var bytesPerSecond = Read<double>(rate, nameof(MinDataRate.BytesPerSecond));
            var gracePeriod = Read<TimeSpan>(rate, nameof(MinDataRate.GracePeriod));
            if (rate.AsEnumerable(makePathsRelative: true).FirstOrDefault(
                c => c.Value is not null && !IsKey(c.Key, nameof(MinDataRate.BytesPerSecond)) && !IsKey(c.Key, nameof(MinDataRate.GracePeriod))) is { Key: { } unknown })
            {
                throw new StartRefusedException(
                    $"{rate.Path}:{unknown} is not a setting of {rate.Path}: check its spelling against appsettings.json.");
            }

            // A key not given keeps what the rate has, or Kestrel's own default when it has been turned off.
            var fresh = new KestrelServerLimits();
            var basis = current ?? (isRequest ? fresh.MinRequestBodyDataRate : fresh.MinResponseDataRate)!;
            try
            {
                value = new MinDataRate(bytesPerSecond.Value ?? basis.BytesPerSecond, gracePeriod.Value ?? basis.GracePeriod);
            }
            // Kestrel names the half it refuses by its parameter; a half refused was given, since a default is valid.
            catch (ArgumentException ex)
            {
                // Kestrel's own words speak of a request body for either rate, and of a null no setting can give.
                throw ex.ParamName is { } parameter && IsKey(parameter, nameof(MinDataRate.GracePeriod))
                    ? new StartRefusedException(
                        $"{gracePeriod.Path} cannot be {gracePeriod.Given}: it must be more than 1 second, the interval Kestrel checks the rate at.", ex)
                    : new StartRefusedException(
                        $"{bytesPerSecond.Path} cannot be {bytesPerSecond.Given}: it must be more than 0 (an empty {rate.Path} turns the rate off).", ex);
            }
        }

        if (isRequest)
        {
            limits.MinRequestBodyDataRate = value;
        }
        else
        {
            limits.MinResponseDataRate = value;
        }
    }

    private static bool IsKey(string key, string name) => key.Equals(name, StringComparison.OrdinalIgnoreCase);

    /// <summary>One half of a rate, null when not given; the empty value and the value of the wrong type refused naming it.</summary>
    private static (T? Value, string Path, string? Given) Read<T>(IConfigurationSection rate, string name)
        where T : struct
    {
        var key = rate.GetChildren().FirstOrDefault(c => IsKey(c.Key, name));
        if (key?.Value is not { } given)
        {
            return (null, $"{rate.Path}:{name}", null);
        }

        // The binder reads an empty value as none, and the rate would keep appsettings.json's without a word, though
        // whoever emptied it most likely meant to turn the rate off.
        if (given.Length == 0)
        {
            throw new StartRefusedException(
                $"{key.Path} is empty: give it a value, or give {rate.Path} itself an empty value to turn the rate off.");
        }

        try
        {
            return (key.Get<T>(), key.Path, given);
        }
        catch (InvalidOperationException ex)
        {
            throw new StartRefusedException($"{key.Path} cannot be {given}: {Reason(ex.InnerException ?? ex)}", ex);
        }
    }

    /// <summary>The first line of the complaint, without the name of the setter's parameter, which is no setting's.</summary>
    private static string Reason(Exception reason)
    {
        var line = reason.Message.Split('\n')[0].Trim();
        return reason is ArgumentException { ParamName: { } parameter } ? line.Replace($" (Parameter '{parameter}')", "", StringComparison.Ordinal) : line;
    }
}
