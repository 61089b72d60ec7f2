using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace WonderQ.Shared.Web;

/// <summary>
/// The levels under <c>Logging</c> (<c>Logging:LogLevel:*</c>, and <c>Logging:&lt;provider&gt;:LogLevel:*</c>), checked
/// before the framework reads them. Its reader names the value it cannot read but not the key, and takes what is no
/// level without a word: an empty value as no rule at all (the category then logs at the default level), a number past
/// None as a level that logs nothing.
/// </summary>
internal static class LogLevels
{
    private const string Section = "Logging";

    private const string LevelsKey = "LogLevel";

    private const string Allowed = "Trace, Debug, Information, Warning, Error, Critical or None";

    /// <summary>
    /// Put before the framework's reader of the levels: the options' configurations run in the order they were added,
    /// and the logger factory, built with the app, reads them first of all.
    /// </summary>
    public static void CheckBeforeTheyAreRead(IServiceCollection services)
    {
        var check = ServiceDescriptor.Singleton<IConfigureOptions<LoggerFilterOptions>>(
            sp => new Check(sp.GetRequiredService<IConfiguration>()));
        var reader = services.ToList().FindIndex(d => d.ServiceType == typeof(IConfigureOptions<LoggerFilterOptions>));
        if (reader < 0)
        {
            services.TryAddEnumerable(check);
        }
        else
        {
            services.Insert(reader, check);
        }
    }

    /// <summary>Each level that is none, as a sentence naming its key: where the framework reads a level, as it reads it.</summary>
    public static IEnumerable<string> Wrong(IConfiguration configuration)
    {
        foreach (var child in configuration.GetSection(Section).GetChildren())
        {
            var levels = child.Key.Equals(LevelsKey, StringComparison.OrdinalIgnoreCase) ? child : child.GetSection(LevelsKey);
            if (!string.IsNullOrEmpty(levels.Value))
            {
                yield return $"{levels.Path} is a section, not a level: give each category its own key, such as {levels.Path}:Default.";
            }

            foreach (var level in levels.AsEnumerable(makePathsRelative: true))
            {
                // A section's own entry (a category with levels under it) has no value; the framework passes it over.
                var key = $"{levels.Path}:{level.Key}";
                if (level.Value is null)
                {
                    continue;
                }

                if (level.Value.Length == 0)
                {
                    yield return $"{key} is empty: give it a log level ({Allowed}), or remove it.";
                }
                else if (!Enum.TryParse<LogLevel>(level.Value, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed))
                {
                    yield return $"{key} is '{level.Value}', which is not a log level: use {Allowed}.";
                }
            }
        }
    }

    private sealed class Check(IConfiguration configuration) : IConfigureOptions<LoggerFilterOptions>
    {
        public void Configure(LoggerFilterOptions options)
        {
            var wrong = Wrong(configuration).ToList();
            if (wrong.Count > 0)
            {
                throw new StartRefusedException(string.Join(" ", wrong));
            }
        }
    }
}
