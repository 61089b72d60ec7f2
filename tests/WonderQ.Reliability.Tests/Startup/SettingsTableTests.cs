using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using WonderQ.Broker.Auth;
using WonderQ.Broker.Infrastructure;
using WonderQ.Broker.Storage;
using WonderQ.DevTool.Dashboard;
using WonderQ.Shared.Client;
using WonderQ.Shared.Validation;
using WonderQ.Shared.Web;
using WonderQ.UserApp;

namespace WonderQ.Reliability.Tests.Startup;

/// <summary>
/// The README's "Configuration" tables are where an operator learns what can be set and what it is unless set; each
/// app's appsettings.json is what it is. A key added to one and not the other, or a default changed in one, would leave
/// them disagreeing without a word: every key of a file is in the tables for its app with the same default, every key
/// those tables give the app is in its file, and every setting of the sections the app binds is written out there.
/// </summary>
public sealed partial class SettingsTableTests
{
    /// <summary>The README's tables that hold for each app, by heading: the first that has a key is the one that holds.</summary>
    private static readonly Dictionary<string, string[]> _tablesOf = new()
    {
        ["Broker"] = ["Broker", "Every app"],
        ["DevTool"] = ["DevTool", "DevTool and UserApp", "Every app"],
        ["UserApp"] = ["UserApp", "DevTool and UserApp", "Every app"],
    };

    /// <summary>The sections each app binds to its own options classes (Kestrel's, the framework's, are Kestrel's to list).</summary>
    private static readonly Dictionary<string, (string Section, Type Options)[]> _boundBy = new()
    {
        ["Broker"] = [(StorageOptions.Section, typeof(StorageOptions)), (ApiKeyOptions.Section, typeof(ApiKeyOptions)), (MemoryOptions.Section, typeof(MemoryOptions)), (LimitsOptions.Section, typeof(LimitsOptions)), (OutageOptions.Section, typeof(OutageOptions))],
        ["DevTool"] = [(BrokerClientOptions.Section, typeof(BrokerClientOptions)), (DashboardOptions.Section, typeof(DashboardOptions)), (LimitsOptions.Section, typeof(LimitsOptions)), (OutageOptions.Section, typeof(OutageOptions))],
        ["UserApp"] = [(BrokerClientOptions.Section, typeof(BrokerClientOptions)), (UserAppOptions.Section, typeof(UserAppOptions)), (LimitsOptions.Section, typeof(LimitsOptions)), (OutageOptions.Section, typeof(OutageOptions))],
    };

    [Fact]
    public void The_sections_a_command_line_may_name_are_those_the_apps_bind()
    {
        // A section missing there would refuse its own app's settings on the command line.
        Settings.WonderQSections.Should().BeEquivalentTo(_boundBy.Values.SelectMany(bound => bound.Select(b => b.Section)).Distinct());
    }

    [Theory]
    [InlineData("Broker")]
    [InlineData("DevTool")]
    [InlineData("UserApp")]
    public void Every_key_of_the_app_s_appsettings_json_is_in_the_README_s_tables_with_the_same_default(string app)
    {
        var file = AppSettings(app);
        var documented = Documented(app);

        var wrong = new List<string>();
        foreach (var (key, value) in file)
        {
            if (!documented.TryGetValue(key, out var readme))
            {
                wrong.Add($"{key} (= {value} in {app}/appsettings.json) is in no row of the README's tables {Tables(app)}");
            }
            else if (readme != value)
            {
                wrong.Add($"{key} is {value} in {app}/appsettings.json but `{readme}` in the README's tables {Tables(app)}");
            }
        }

        wrong.AddRange(documented.Keys.Where(key => !file.ContainsKey(key))
            .Select(key => $"{key} is in the README's tables {Tables(app)} but not in {app}/appsettings.json"));
        wrong.Should().BeEmpty();
    }

    [Theory]
    [InlineData("Broker")]
    [InlineData("DevTool")]
    [InlineData("UserApp")]
    public async Task Every_setting_the_app_binds_is_written_out_in_its_appsettings_json(string app)
    {
        var file = AppSettings(app);

        var missing = new List<string>();
        foreach (var (section, options) in _boundBy[app])
        {
            foreach (var key in Keys(section, options).Where(key => !file.ContainsKey(key)))
            {
                // The README's tables say which of the shared Limits each app reads: one it never reads is left out of
                // its file, and does not stop it even out of range.
                if (section == LimitsOptions.Section && await IsUnreadAsync(app, key))
                {
                    continue;
                }

                missing.Add($"{key} ({options.Name}) is not in {app}/appsettings.json");
            }
        }

        missing.Should().BeEmpty();
    }

    /// <summary>
    /// An app started without its appsettings.json (a dll whose folder lacks it, which it warns of) runs on the
    /// defaults its options classes give; they are the file's, or the same app would behave otherwise there.
    /// </summary>
    [Theory]
    [InlineData("Broker")]
    [InlineData("DevTool")]
    [InlineData("UserApp")]
    public async Task Every_setting_the_app_binds_defaults_without_its_appsettings_json_to_what_the_file_gives_it(string app)
    {
        var file = AppSettings(app);
        using var database = new TempDatabase();
        // The database is the test's own, so its path is not the default.
        await using var started = Create(app, ["--contentRoot", database.Directory, "--urls", "http://127.0.0.1:0", $"--Storage:Sqlite:Path={database.Path}"]);

        var differ = new List<string>();
        foreach (var (section, options) in _boundBy[app])
        {
            var bound = ((IOptions<object>)Activator.CreateInstance(typeof(OptionsAdapter<>).MakeGenericType(options), started.Services)!).Value;
            foreach (var (key, value) in Values(section, bound).Where(v => file.ContainsKey(v.Key) && !v.Key.Equals("Storage:Sqlite:Path", StringComparison.Ordinal)))
            {
                if (!SameValue(value, file[key]))
                {
                    differ.Add($"{key} is {file[key]} in {app}/appsettings.json but {Format(value)} without it");
                }
            }
        }

        differ.Should().BeEmpty();
    }

    /// <summary>Every key of the file, flattened as the configuration flattens it, with its value as the README writes it.</summary>
    private static Dictionary<string, string> AppSettings(string app)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, app, "appsettings.json")));
        var keys = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        Flatten(json.RootElement, "", keys);
        return keys;
    }

    private static void Flatten(JsonElement element, string path, Dictionary<string, string> keys)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    Flatten(property.Value, path.Length == 0 ? property.Name : $"{path}:{property.Name}", keys);
                }

                break;
            case JsonValueKind.Array when element.GetArrayLength() == 0:
                keys[path] = "[]";
                break;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    Flatten(item, $"{path}:{index++}", keys);
                }

                break;
            case JsonValueKind.String:
                keys[path] = element.GetString() is { Length: > 0 } text ? text : "\"\"";
                break;
            default:
                keys[path] = element.GetRawText();
                break;
        }
    }

    /// <summary>
    /// The keys the README's tables give <paramref name="app"/>, with the default each gives it: a row's first value,
    /// or one that follows a mention of the app (<c>`4` (DevTool: `1`)</c>); a row of several keys whose default is
    /// "as the broker" takes the broker's; one whose default names settings under the keys (<c>`BytesPerSecond` `240`,
    /// `GracePeriod` `00:00:05`</c>) gives each of those.
    /// </summary>
    private static Dictionary<string, string> Documented(string app)
    {
        var tables = ReadmeTables();
        var documented = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var table in _tablesOf[app])
        {
            tables.Should().ContainKey(table, "the README has a table headed so under \"Configuration\"");
            foreach (var (keys, defaults) in tables[table])
            {
                foreach (var (key, value) in Defaults(app, keys, defaults))
                {
                    documented.TryAdd(key, value);
                }
            }
        }

        return documented;
    }

    private static IEnumerable<(string Key, string Value)> Defaults(string app, IReadOnlyList<string> keys, string cell)
    {
        if (cell == "as the broker")
        {
            var broker = Documented("Broker");
            return keys.Select(key => (key, broker.TryGetValue(key, out var value) ? value : "(not in the broker's tables)"));
        }

        var values = Code().Matches(cell);
        if (SubKeys().IsMatch(cell))
        {
            return keys.SelectMany(key => values.Chunk(2).Select(pair => ($"{key}:{pair[0].Groups[1].Value}", pair[1].Groups[1].Value)));
        }

        var chosen = values.Count > 0 ? values[0].Groups[1].Value : cell;
        for (var i = 1; i < values.Count; i++)
        {
            var before = cell[(values[i - 1].Index + values[i - 1].Length)..values[i].Index];
            if (before.Contains(app, StringComparison.OrdinalIgnoreCase))
            {
                chosen = values[i].Groups[1].Value;
            }
        }

        return keys.Select(key => (key, chosen));
    }

    /// <summary>Each table under the README's "Configuration", by its heading's first words: its rows' keys and default.</summary>
    private static Dictionary<string, List<(List<string> Keys, string Default)>> ReadmeTables()
    {
        var readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"));
        var start = readme.IndexOf("\n## Configuration\n", StringComparison.Ordinal);
        start.Should().BeGreaterThan(0, "the README has a \"Configuration\" section");
        var end = readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);

        var tables = new Dictionary<string, List<(List<string>, string)>>();
        List<(List<string>, string)>? rows = null;
        foreach (var line in readme[start..end].Split('\n'))
        {
            if (line.StartsWith("### ", StringComparison.Ordinal))
            {
                // "DevTool (its `Broker` section ...)", "DevTool and UserApp: the broker client ...", "Every app".
                var heading = line[4..].Split([" (", ":"], StringSplitOptions.None)[0].Trim();
                tables[heading] = rows = [];
            }
            else if (rows is not null && line.StartsWith("| `", StringComparison.Ordinal))
            {
                var cells = line.Trim('|').Split(" | ");
                rows.Add(([.. Code().Matches(cells[0]).Select(m => m.Groups[1].Value)], cells[1].Trim()));
            }
        }

        return tables;
    }

    /// <summary>The keys of <paramref name="options"/>'s settings, as the binder reads them; a class of WonderQ's own is a section.</summary>
    private static IEnumerable<string> Keys(string section, Type options) =>
        options.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0 && p.SetMethod is { IsPublic: true })
            .SelectMany(p =>
            {
                var key = $"{section}:{p.GetCustomAttribute<ConfigurationKeyNameAttribute>()?.Name ?? p.Name}";
                return p.PropertyType.Namespace?.StartsWith("WonderQ", StringComparison.Ordinal) == true ? Keys(key, p.PropertyType) : [key];
            });

    /// <summary>The value of each setting of <paramref name="options"/>, by key, as <see cref="Keys"/> names them.</summary>
    private static IEnumerable<(string Key, object? Value)> Values(string section, object options) =>
        options.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0 && p.SetMethod is { IsPublic: true })
            .SelectMany(p =>
            {
                var key = $"{section}:{p.GetCustomAttribute<ConfigurationKeyNameAttribute>()?.Name ?? p.Name}";
                var value = p.GetValue(options);
                return p.PropertyType.Namespace?.StartsWith("WonderQ", StringComparison.Ordinal) == true ? Values(key, value!) : [(key, value)];
            });

    private static bool SameValue(object? value, string written) => value switch
    {
        null => written == "null",
        string text => text == (written == "\"\"" ? "" : written),
        Array array => array.Length == 0 && written == "[]",
        _ => written != "null" && Equals(value, TypeDescriptor.GetConverter(value.GetType()).ConvertFromInvariantString(written)),
    };

    private static string Format(object? value) => value switch
    {
        null => "null",
        Array array => $"[{string.Join(", ", array.Cast<object>())}]",
        _ => Convert.ToString(value, CultureInfo.InvariantCulture)!,
    };

    /// <summary>The app's <c>IOptions&lt;T&gt;</c> of an options class known only by its type.</summary>
    private sealed class OptionsAdapter<T>(IServiceProvider services) : IOptions<object>
        where T : class
    {
        public object Value => services.GetRequiredService<IOptions<T>>().Value;
    }

    /// <summary>Whether <paramref name="app"/> starts with <paramref name="key"/> out of range (every limit is at least 0).</summary>
    private static async Task<bool> IsUnreadAsync(string app, string key)
    {
        using var database = new TempDatabase();
        try
        {
            await using var started = Create(
                app,
                ["--contentRoot", Path.Combine(RepoPaths.Root, app), "--urls", "http://127.0.0.1:0", $"--Storage:Sqlite:Path={database.Path}", $"--{key}=-1"]);
            return true;
        }
        catch (OptionsValidationException)
        {
            return false;
        }
    }

    private static WebApplication Create(string app, string[] args) => app switch
    {
        "DevTool" => WonderQ.DevTool.Program.CreateApp(args),
        "UserApp" => WonderQ.UserApp.Program.CreateApp(args),
        _ => WonderQ.Broker.Program.CreateApp(args),
    };

    private static string Tables(string app) => string.Join(", ", _tablesOf[app].Select(t => $"\"{t}\""));

    [GeneratedRegex("`([^`]*)`")]
    private static partial Regex Code();

    /// <summary><c>`BytesPerSecond` `240`, `GracePeriod` `00:00:05`</c>: pairs of a key's name and its value.</summary>
    [GeneratedRegex(@"^`\w+` `[^`]*`(, `\w+` `[^`]*`)+$")]
    private static partial Regex SubKeys();
}
