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
        foreach (var (key, value) in configuration.GetSection(Section).AsEnumerable(makePathsRelative: true))
        {
            if (value is null)
            {
                continue;
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
    }

    /// <summary>The first line of the complaint, without the name of the setter's parameter, which is no setting's.</summary>
    private static string Reason(Exception reason)
    {
        var line = reason.Message.Split('\n')[0].Trim();
        return reason is ArgumentException { ParamName: { } parameter } ? line.Replace($" (Parameter '{parameter}')", "", StringComparison.Ordinal) : line;
    }
}
