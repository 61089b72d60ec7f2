using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using WonderQ.Shared.Validation;

namespace WonderQ.Broker.Tests.Web;

/// <summary>
/// A key under one of WonderQ's sections that names none of its settings is refused at start, with its full path: a
/// misspelt key would otherwise be ignored and its default used. Keys are matched as the binder matches them.
/// </summary>
public sealed class SettingsTests : IDisposable
{
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    [Fact]
    public void A_key_is_matched_as_the_binder_matches_it_whatever_its_case()
    {
        var unknown = UnknownKeys(new() { ["Sample:maxsize"] = "1", ["Sample:NESTED:Name"] = "x", ["Sample:Nested"] = "" });

        unknown.Should().BeEmpty();
    }

    [Fact]
    public void A_key_that_names_no_setting_is_named_by_its_full_path_with_the_section_it_is_under()
    {
        var unknown = UnknownKeys(new() { ["Sample:MaxSze"] = "1", ["Sample:Nested:Nme"] = "x", ["Sample:Nested:Name"] = "x" });

        unknown.Should().BeEquivalentTo([("Sample:MaxSze", "Sample"), ("Sample:Nested:Nme", "Sample:Nested")]);
    }

    [Fact]
    public void The_items_of_a_list_and_the_keys_of_a_dictionary_are_free_but_what_is_under_them_is_not()
    {
        var unknown = UnknownKeys(new()
        {
            ["Sample:Keys:0"] = "a",
            ["Sample:Keys:1"] = "b",
            ["Sample:Keys:2:Extra"] = "c",
            ["Sample:Items:0:Name"] = "a",
            ["Sample:Items:0:Nme"] = "a",
            ["Sample:ByName:anything"] = "a",
            ["Sample:ByName:other:More"] = "a",
        });

        unknown.Should().BeEquivalentTo([
            ("Sample:Keys:2:Extra", "Sample:Keys:2"),
            ("Sample:Items:0:Nme", "Sample:Items:0"),
            ("Sample:ByName:other:More", "Sample:ByName:other"),
        ]);
    }

    [Fact]
    public void The_broker_refuses_a_misspelt_key_and_says_it_in_its_own_words()
    {
        var start = () => Program.CreateApp(
            ["--urls", "http://127.0.0.1:0", $"--Storage:Sqlite:Path={_database.Path}", "--Storage:Sqlite:Synchronus=NORMAL"]);

        start.Should().Throw<OptionsValidationException>().Which.Failures.Should().Equal(
            "Storage:Sqlite:Synchronus is not a setting of Storage:Sqlite: check its spelling against appsettings.json.");
    }

    [Fact]
    public void A_key_written_with_the_environment_s_double_underscore_on_the_command_line_is_refused_not_ignored()
    {
        // Only an environment variable's "__" is read as ":": as an argument this key would be no setting at all, and
        // the broker would run without the key it was given.
        var start = () => Program.CreateApp(
            ["--urls", "http://127.0.0.1:0", $"--Storage:Sqlite:Path={_database.Path}", "--auth__ApiKeys__0=s3cret"]);

        start.Should().Throw<OptionsValidationException>().Which.Failures.Should().Equal(
            "auth__ApiKeys__0 is not read: '__' stands for ':' only in an environment variable's name; write auth:ApiKeys:0 on the command line and in appsettings.json.");
    }

    [Theory]
    [InlineData("--Auth=s3cret", "Auth is a section, not a value: give each of its settings its own key, such as Auth:ApiKeys.")]
    [InlineData("--storage:sqlite=/tmp/q.db", "Storage:Sqlite is a section, not a value: give each of its settings its own key, such as Storage:Sqlite:Path.")]
    public void A_section_given_one_value_of_its_own_is_refused_not_passed_over(string setting, string said)
    {
        // The binder passes over the value of a section as it does one given to a list: Auth=s3cret left the broker open.
        var start = () => Program.CreateApp(["--urls", "http://127.0.0.1:0", $"--Storage:Sqlite:Path={_database.Path}", setting]);

        start.Should().Throw<OptionsValidationException>().Which.Failures.Should().Equal(said);
    }

    [Theory]
    [InlineData("cl\u00e9")]
    [InlineData("key\u007f")]
    public void A_key_no_header_could_carry_is_refused_as_the_broker_would_ask_for_it_in_vain(string key)
    {
        // An Authorization header carries printable ASCII only: no client could ever send this key.
        var start = () => Program.CreateApp(
            ["--urls", "http://127.0.0.1:0", $"--Storage:Sqlite:Path={_database.Path}", $"--Auth:ApiKeys:0={key}"]);

        start.Should().Throw<OptionsValidationException>().Which.Failures.Should().Equal("Auth:ApiKeys:0 must be printable ASCII.");
    }

    [Fact]
    public void A_limit_out_of_range_fails_once_in_its_own_words_and_not_again_for_the_defaults_compared_with_it()
    {
        var start = () => Program.CreateApp(
            ["--urls", "http://127.0.0.1:0", $"--Storage:Sqlite:Path={_database.Path}", "--Limits:MaxBatchSize=0"]);

        start.Should().Throw<OptionsValidationException>().Which.Failures.Should().Equal("Limits:MaxBatchSize must be from 1 to 10000.");
    }

    [Fact]
    public async Task The_settings_the_broker_ships_with_and_a_list_of_keys_start_it()
    {
        await using var app = Program.CreateApp(
            ["--urls", "http://127.0.0.1:0", $"--Storage:Sqlite:Path={_database.Path}", "--Auth:ApiKeys:0=one", "--Auth:ApiKeys:1=two"]);

        app.Services.GetRequiredService<IOptions<WonderQ.Broker.Auth.ApiKeyOptions>>().Value.ApiKeys.Should().Equal("one", "two");
    }

    private static List<(string Key, string Section)> UnknownKeys(Dictionary<string, string?> settings) =>
        [.. Settings.UnknownKeys(new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection("Sample"), typeof(Sample))];

    private sealed class Sample
    {
        public int MaxSize { get; set; }

        public Named Nested { get; set; } = new();

        public string[] Keys { get; set; } = [];

        public List<Named> Items { get; set; } = [];

        public Dictionary<string, string> ByName { get; set; } = [];
    }

    private sealed class Named
    {
        public string? Name { get; set; }
    }
}
