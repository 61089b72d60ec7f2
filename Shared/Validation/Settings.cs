using System.Collections;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Reflection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.CommandLine;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace WonderQ.Shared.Validation;

/// <summary>
/// How every WonderQ app reads a section of its own settings: bound from the configuration, checked at start, a key that
/// names no setting refused (a misspelt key would otherwise be ignored, and its default used), and each failure said in
/// the words the options class gives it, without the framework's wrapping.
/// </summary>
public static class Settings
{
    /// <summary>
    /// Binds <typeparamref name="T"/> to <paramref name="section"/>, validates its DataAnnotations and
    /// <see cref="IValidatableObject"/> checks, and refuses keys under the section that name none of its settings; all
    /// checked at start. The DataAnnotations of <paramref name="unread"/>, settings of a section shared by several apps
    /// that this one never reads, are not checked: the app is not refused over a value it would not use. They are still
    /// settings of the section, so their keys are not refused as misspelt.
    /// </summary>
    public static OptionsBuilder<T> BindSettings<T>(this OptionsBuilder<T> builder, string section, params string[] unread)
        where T : class
    {
        builder.BindConfiguration(section);
        builder.Services.AddSingleton(new SettingsSection(section));
        builder.Services.AddSingleton<IValidateOptions<T>>(sp =>
            new UnknownSettingsValidator<T>(builder.Name, sp.GetRequiredService<IConfiguration>(), section));
        builder.Services.AddSingleton<IValidateOptions<T>>(new SettingsValidator<T>(builder.Name, unread));
        return builder.ValidateOnStart();
    }

    /// <summary>
    /// Every WonderQ app's own sections. One command line given to all three, as a script or a test may, names the
    /// others' sections too, which an app passes over as it does in the environment.
    /// </summary>
    public static readonly IReadOnlyList<string> WonderQSections = ["Storage", "Auth", "Memory", "Broker", "Dashboard", "UserApp", "Limits", "Outages"];

    /// <summary>
    /// The top-level keys of <paramref name="configuration"/>'s command line that name no WonderQ app's section
    /// (<see cref="WonderQSections"/>) and no key of the host's, Kestrel's or logging's: a misspelt section
    /// (<c>--Storag:Sqlite:Path</c>) is otherwise ignored, and its defaults used. A key meant for a section but written
    /// with an environment variable's <c>__</c> is left to <see cref="BindSettings"/>'s own, more telling refusal. Not the
    /// environment's keys, which every other program's variables share.
    /// </summary>
    public static IReadOnlyList<string> UnknownCommandLineSections(IConfiguration configuration) =>
        configuration is IConfigurationRoot root
            ? [.. root.Providers.OfType<CommandLineConfigurationProvider>()
                .SelectMany(provider => provider.GetChildKeys([], parentPath: null))
                .Distinct(StringComparer.OrdinalIgnoreCase)
                .Where(key => !WonderQSections.Concat(_frameworkKeys).Any(known => key.Equals(known, StringComparison.OrdinalIgnoreCase)
                    || key.StartsWith(known + "__", StringComparison.OrdinalIgnoreCase)))]
            : [];

    /// <summary>What the host (<c>contentRoot</c>, <c>urls</c>, <c>environment</c> and the rest), Kestrel, logging and host filtering read.</summary>
    private static readonly string[] _frameworkKeys =
    [
        .. typeof(WebHostDefaults).GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => (string)f.GetValue(null)!),
        .. typeof(HostDefaults).GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => (string)f.GetValue(null)!),
        "Kestrel", "Logging", "AllowedHosts", "https_port",
    ];

    /// <summary>
    /// Whether each of <paramref name="members"/> of <paramref name="options"/> passes its own DataAnnotations. A check
    /// of one setting against another is made only when both are valid on their own: a setting out of its range is said
    /// once, not again by every setting compared with it.
    /// </summary>
    public static bool AreValid(object options, params string[] members) =>
        members.All(member => Validator.TryValidateProperty(
            options.GetType().GetProperty(member)!.GetValue(options),
            new ValidationContext(options) { MemberName = member },
            validationResults: null));

    /// <summary>
    /// The keys under <paramref name="section"/> that name no setting of <paramref name="type"/>, as the configuration
    /// binder matches them (case-insensitively, by property name or <see cref="ConfigurationKeyNameAttribute"/>), each as
    /// its full path, with the section it is under. The children of a list or a dictionary are its own, by any key.
    /// </summary>
    public static IEnumerable<(string Key, string Section)> UnknownKeys(IConfigurationSection section, Type type)
    {
        var properties = SettingsOf(type);
        foreach (var child in section.GetChildren())
        {
            if (!properties.TryGetValue(child.Key, out var property))
            {
                yield return (child.Path, section.Path);
                continue;
            }

            foreach (var unknown in UnknownKeysOfValue(child, property.PropertyType))
            {
                yield return unknown;
            }
        }
    }

    /// <summary>
    /// What gives <paramref name="section"/>, or a list or section under it, one value of its own, which the binder
    /// passes over without a word: <c>Auth=s3cret</c> or <c>Auth__ApiKeys=s3cret</c> would leave the broker open. An
    /// empty value is an empty list.
    /// </summary>
    private static IEnumerable<string> ValuesGivenToNoValue(IConfigurationSection section, Type type)
    {
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0).ToList();
        if (!string.IsNullOrEmpty(section.Value) && properties.Count > 0)
        {
            yield return $"{section.Path} is a section, not a value: give each of its settings its own key, such as {section.Path}:{properties[0].Name}.";
        }

        foreach (var property in properties)
        {
            var child = section.GetSection(property.GetCustomAttribute<ConfigurationKeyNameAttribute>()?.Name ?? property.Name);
            var propertyType = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (ItemType(propertyType) is not null)
            {
                if (!string.IsNullOrEmpty(child.Value))
                {
                    yield return $"{child.Path} is a list: give each item its own index, {child.Path}:0, {child.Path}:1 and so on "
                        + $"({child.Path.Replace(":", "__", StringComparison.Ordinal)}__0 in the environment).";
                }
            }
            else if (!IsSingleValue(propertyType))
            {
                foreach (var said in ValuesGivenToNoValue(child, propertyType))
                {
                    yield return said;
                }
            }
        }
    }

    /// <summary>The settings of <paramref name="type"/> by their keys, as the binder matches them: case-insensitively, by property name or <see cref="ConfigurationKeyNameAttribute"/>.</summary>
    private static Dictionary<string, PropertyInfo> SettingsOf(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0)
            .ToDictionary(p => p.GetCustomAttribute<ConfigurationKeyNameAttribute>()?.Name ?? p.Name, StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// A setting of one value written as JSON's <c>null</c> (a key with no value and nothing under it), which the binder
    /// takes for its type's default without a word: a default wait and visibility timeout of 0, which delivered every
    /// message twice, or a text setting's null, which crashed the start. A list's null is an empty list, as its <c>[]</c> is.
    /// </summary>
    private static IEnumerable<string> NullValues(IConfigurationSection section, Type type)
    {
        // Not shared between threads: it caches as it reads.
        var nullability = new NullabilityInfoContext();
        var properties = SettingsOf(type);
        foreach (var child in section.GetChildren())
        {
            // A key no setting reads is said as such (UnknownKeys).
            if (!properties.TryGetValue(child.Key, out var property))
            {
                continue;
            }

            // A setting that may be null says so in its type (Broker:ApiKey, no key): null is one of its values.
            var propertyType = property.PropertyType;
            if (ItemType(propertyType) is not null || nullability.Create(property).WriteState == NullabilityState.Nullable)
            {
                continue;
            }

            if (!IsSingleValue(propertyType))
            {
                foreach (var said in NullValues(child, propertyType))
                {
                    yield return said;
                }
            }
            else if (child.Value is null && !child.GetChildren().Any())
            {
                yield return $"{child.Path} is null: give it a value, or leave the key out for its default.";
            }
        }
    }

    private static IEnumerable<(string Key, string Section)> UnknownKeysOfValue(IConfigurationSection section, Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (ItemType(type) is { } item)
        {
            return section.GetChildren().SelectMany(child => UnknownKeysOfValue(child, item));
        }

        // A single value has no settings under it.
        return IsSingleValue(type)
            ? section.GetChildren().Select(child => (child.Path, section.Path))
            : UnknownKeys(section, type);
    }

    /// <summary>What the binder converts from one string, as it does: by the type's converter.</summary>
    private static bool IsSingleValue(Type type) =>
        type == typeof(string) || type == typeof(object) || TypeDescriptor.GetConverter(type).CanConvertFrom(typeof(string));

    /// <summary>The type of a list's items or a dictionary's values, whose keys are free.</summary>
    private static Type? ItemType(Type type)
    {
        if (type == typeof(string))
        {
            return null;
        }

        if (type.IsArray)
        {
            return type.GetElementType();
        }

        var interfaces = type.IsInterface ? [type, .. type.GetInterfaces()] : type.GetInterfaces();
        var generic = interfaces.Where(i => i.IsGenericType).ToList();
        if (generic.FirstOrDefault(i => i.GetGenericTypeDefinition() is var d && (d == typeof(IDictionary<,>) || d == typeof(IReadOnlyDictionary<,>))) is { } dictionary)
        {
            return dictionary.GetGenericArguments()[1];
        }

        return generic.FirstOrDefault(i => i.GetGenericTypeDefinition() == typeof(IEnumerable<>))?.GetGenericArguments()[0]
            ?? (typeof(IEnumerable).IsAssignableFrom(type) ? typeof(object) : null);
    }

    /// <summary>
    /// Refuses a key under the section that no setting reads. Said with its full path, which the binder's own check
    /// (<see cref="BinderOptions.ErrorOnUnknownConfiguration"/>) cannot give: it names the class, not the section. So is
    /// a key meant for the section but spelt with an environment variable's <c>__</c> on the command line or in a file,
    /// where it is no path at all: <c>--Auth__ApiKeys__0=...</c> would leave the broker open.
    /// </summary>
    private sealed class UnknownSettingsValidator<T>(string? name, IConfiguration configuration, string sectionKey) : IValidateOptions<T>
        where T : class
    {
        public ValidateOptionsResult Validate(string? optionsName, T options)
        {
            if (name is not null && name != optionsName)
            {
                return ValidateOptionsResult.Skip;
            }

            var section = configuration.GetSection(sectionKey);
            var unknown = UnknownKeys(section, typeof(T))
                .Select(u => $"{u.Key} is not a setting of {u.Section}: check its spelling against appsettings.json.")
                .Concat(ValuesGivenToNoValue(section, typeof(T)))
                .Concat(NullValues(section, typeof(T)))
                .Concat(configuration.GetChildren()
                    .Where(c => c.Key.StartsWith(sectionKey + "__", StringComparison.OrdinalIgnoreCase))
                    .Select(c => $"{c.Key} is not read: '__' stands for ':' only in an environment variable's name; write "
                        + $"{c.Key.Replace("__", ":", StringComparison.Ordinal)} on the command line and in appsettings.json."))
                .ToList();
            return unknown.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(unknown);
        }
    }

    /// <summary>
    /// DataAnnotations, with each failure in the words its attribute or check gives it (which name the key), not
    /// wrapped in the framework's "DataAnnotation validation failed for ... with the error: '...'". The object's own
    /// checks run even when a member's attribute fails, so that independent failures are all said at once: a check of
    /// one setting against another passes over a setting that is invalid on its own (<see cref="AreValid"/>).
    /// </summary>
    private sealed class SettingsValidator<T>(string? name, string[] unread) : IValidateOptions<T>
        where T : class
    {
        public ValidateOptionsResult Validate(string? optionsName, T options)
        {
            if (name is not null && name != optionsName)
            {
                return ValidateOptionsResult.Skip;
            }

            var results = new List<ValidationResult>();
            foreach (var property in typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                if (property.GetIndexParameters().Length == 0 && property.IsDefined(typeof(ValidationAttribute), inherit: true)
                    && !unread.Contains(property.Name))
                {
                    Validator.TryValidateProperty(property.GetValue(options), new ValidationContext(options) { MemberName = property.Name }, results);
                }
            }

            if (options is IValidatableObject validatable)
            {
                results.AddRange(validatable.Validate(new ValidationContext(options)));
            }

            return results.Count == 0
                ? ValidateOptionsResult.Success
                : ValidateOptionsResult.Fail(results.Select(r => r.ErrorMessage ?? $"{string.Join(", ", r.MemberNames)} is not valid."));
        }
    }
}

/// <summary>A section of settings the app reads (<see cref="Settings.BindSettings"/>), known so that one misspelt on the command line is refused.</summary>
internal sealed record SettingsSection(string Name);
