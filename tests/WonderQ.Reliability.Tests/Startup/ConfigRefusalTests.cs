using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using WonderQ.Reliability.Tests.Support;
using Xunit.Abstractions;

namespace WonderQ.Reliability.Tests.Startup;

/// <summary>
/// A setting the operator got wrong stops an app with one line naming it and exit code 1, whichever app it is and
/// whenever the value is read: a stack trace would bury the one thing the operator has to change.
/// </summary>
public sealed class ConfigRefusalTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("Broker", "--Limits:MaxBatchSize=abc", "Limits:MaxBatchSize", "abc")]
    [InlineData("Broker", "--Storage:Sqlite:BusyTimeout=xyz", "Storage:Sqlite:BusyTimeout", "xyz")]
    [InlineData("DevTool", "--Broker:AttemptTimeout=abc", "Broker:AttemptTimeout", "abc")]
    [InlineData("UserApp", "--UserApp:DispatchParallelism=many", "UserApp:DispatchParallelism", "many")]
    [InlineData("DevTool", "--Kestrel:Limits:KeepAliveTimeout=soon", "Kestrel:Limits:KeepAliveTimeout", "soon")]
    // A number read as days past TimeSpan's range: the converter's OverflowException was an unhandled exception.
    [InlineData("Broker", "--Outages:LogInterval=99999999999", "Outages:LogInterval", "99999999999")]
    [InlineData("DevTool", "--Broker:AttemptTimeout=99999999999", "Broker:AttemptTimeout", "99999999999")]
    [InlineData("UserApp", "--UserApp:ListenerStopGrace=99999999999", "UserApp:ListenerStopGrace", "99999999999")]
    public async Task A_value_that_is_not_of_its_type_is_refused_in_one_line(string app, string arg, string key, string value)
    {
        var said = await RefusalOfAsync(app, arg);

        said.Should().Contain(key).And.Contain(value, "the operator needs to know what was read");
    }

    [Theory]
    [InlineData("Broker")]
    [InlineData("DevTool")]
    [InlineData("UserApp")]
    public async Task A_limit_that_is_not_of_its_type_is_not_blamed_on_where_Kestrel_listens(string app)
    {
        var said = await RefusalOfAsync(app, "--Limits:MaxBatchSize=abc");

        said.Should().Be(
            $"WonderQ {DisplayName(app)} did not start: Failed to convert configuration value 'abc' at 'Limits:MaxBatchSize' to type 'System.Int32'.");
    }

    [Theory]
    [InlineData("DevTool", "--Broker:MaxRetries=99", "Broker:MaxRetries")]
    [InlineData("UserApp", "--Broker:MaxRetries=99", "Broker:MaxRetries")]
    [InlineData("UserApp", "--UserApp:DispatchParallelism=0", "UserApp:DispatchParallelism")]
    [InlineData("Broker", "--Limits:MaxBatchSize=0", "Limits:MaxBatchSize")]
    [InlineData("Broker", "--Storage:Sqlite:Path=:memory:", "Storage:Sqlite:Path ':memory:'")]
    [InlineData("Broker", "--Storage:Sqlite:Path=file:q.db?mode=memory", "Storage:Sqlite:Path 'file:q.db?mode=memory'")]
    [InlineData("DevTool", "--Outages:LogInterval=-00:00:01", "Outages:LogInterval")]
    [InlineData("Broker", "--Outages:RetryAfterSeconds=0", "Outages:RetryAfterSeconds")]
    [InlineData("DevTool", "--Dashboard:RefreshInterval=00:00:00", "Dashboard:RefreshInterval")]
    [InlineData("DevTool", "--Dashboard:StaleAfter=00:00:00.500", "Dashboard:StaleAfter")]
    [InlineData("DevTool", "--Dashboard:PreviewCharacters=0", "Dashboard:PreviewCharacters")]
    [InlineData("Broker", "--Limits:DefaultConsumeSize=101", "Limits:DefaultConsumeSize")]
    [InlineData("Broker", "--Storage:Sqlite:BusyTimeout=00:00:00", "Storage:Sqlite:BusyTimeout")]
    [InlineData("Broker", "--Auth:ApiKeys:0= ", "Auth:ApiKeys:0")]
    [InlineData("UserApp", "--UserApp:ListenerSize=101", "UserApp:ListenerSize")]
    [InlineData("UserApp", "--UserApp:MaxDispatchingMessages=9999", "UserApp:MaxDispatchingMessages must be at least UserApp:MaxStub")]
    [InlineData("Broker", "--Limits:MaxRequestBodyBytes=3000000000", "Limits:MaxRequestBodyBytes")]
    [InlineData("Broker", "--Storage:Sqlite:MaxPendingOperations=2000000000", "Storage:Sqlite:MaxPendingOperations")]
    [InlineData("DevTool", "--Broker:ApiKey= key", "Broker:ApiKey")]
    [InlineData("UserApp", "--Broker:ApiKey=clé", "Broker:ApiKey")]
    [InlineData("Broker", "--Auth:ApiKeys:0=clé", "Auth:ApiKeys:0")]
    [InlineData("Broker", "--Storage:Sqlite:WalSizeLimitBytes=-1", "Storage:Sqlite:WalSizeLimitBytes")]
    [InlineData("UserApp", "--UserApp:ListenerStopGrace=00:00:45", "UserApp:ListenerStopGrace")]
    [InlineData("Broker", "--Kestrel:Limits:MaxRequestHeaderCount=0", "Kestrel:Limits:MaxRequestHeaderCount")]
    [InlineData("UserApp", "--Kestrel:Limits:Http2:MaxStreamsPerConnection=0", "Kestrel:Limits:Http2:MaxStreamsPerConnection")]
    [InlineData("DevTool", "--Kestrel:Limits:MaxConcurentConnections=10", "Kestrel:Limits:MaxConcurentConnections")]
    [InlineData("Broker", "--Kestrel:Limits:MaxRequestBodySize=10", "Limits:MaxRequestBodyBytes")]
    [InlineData("DevTool", "--Kestrel:Limits:MinRequestBodyDataRate:BytesPerSecond=-1", "Kestrel:Limits:MinRequestBodyDataRate:BytesPerSecond")]
    [InlineData("Broker", "--Kestrel:Limits:MinResponseDataRate:GracePerod=00:00:05", "Kestrel:Limits:MinResponseDataRate:GracePerod")]
    [InlineData("UserApp", "--Kestrel:Limits:MinRequestBodyDataRate=100", "Kestrel:Limits:MinRequestBodyDataRate")]
    [InlineData("DevTool", "--AllowedHosts=", "AllowedHosts names no host")]
    [InlineData("UserApp", "--AllowedHosts=;", "AllowedHosts names no host")]
    public async Task A_value_out_of_range_is_refused_in_one_line(string app, string arg, string key)
    {
        var said = await RefusalOfAsync(app, arg);

        said.Should().Contain(key);
    }

    [Theory]
    [InlineData("Broker", "--Kestrel:Limits:MinRequestBodyDataRate:BytesPerSecond=0", "Kestrel:Limits:MinRequestBodyDataRate")]
    [InlineData("UserApp", "--Kestrel:Limits:MinResponseDataRate:BytesPerSecond=-1", "Kestrel:Limits:MinResponseDataRate")]
    public async Task A_data_rate_of_0_or_less_is_refused_saying_it_must_be_more_than_0(string app, string arg, string rate)
    {
        var said = await RefusalOfAsync(app, arg);

        said.Should().Contain($"{rate}:BytesPerSecond cannot be ").And.Contain($"it must be more than 0 (an empty {rate} turns the rate off)");
    }

    [Theory]
    [InlineData("Broker", "--Kestrel:Limits:MaxRequestHeadersTotalSize=2000000", "(8192)", "(2000000)", "(1048576,")]
    [InlineData("DevTool", "--Kestrel:Limits:MaxRequestLineSize=2000000", "(2000000)", "(32768)", "(1048576,")]
    [InlineData("UserApp", "--Kestrel:Limits:MaxRequestBufferSize=16384", "(8192)", "(32768)", "(16384,")]
    public async Task A_request_line_or_headers_limit_over_Kestrels_request_buffer_is_refused_in_one_line(
        string app, string arg, string line, string headers, string buffer)
    {
        var said = await RefusalOfAsync(app, arg);

        said.Should().Be(
            $"WonderQ {DisplayName(app)} did not start: Kestrel:Limits:MaxRequestLineSize {line} and Kestrel:Limits:MaxRequestHeadersTotalSize "
            + $"{headers} must be at most Kestrel:Limits:MaxRequestBufferSize {buffer} Kestrel's default unless set), the buffer that holds them.");
    }

    [Theory]
    [InlineData("Broker", "--Storage:Sqlite:Synchronus=NORMAL", "Storage:Sqlite:Synchronus", "Storage:Sqlite")]
    [InlineData("Broker", "--Storage:Provder=sqlite", "Storage:Provder", "Storage")]
    [InlineData("Broker", "--Limits:MaxBatchSze=5", "Limits:MaxBatchSze", "Limits")]
    [InlineData("Broker", "--Auth:ApiKey=s3cret", "Auth:ApiKey", "Auth")]
    [InlineData("Broker", "--Auth:ApiKeys:0:Key=s3cret", "Auth:ApiKeys:0:Key", "Auth:ApiKeys:0")]
    [InlineData("Broker", "--Outages:RetryAfter=5", "Outages:RetryAfter", "Outages")]
    [InlineData("DevTool", "--Dashboard:PreviewChars=500", "Dashboard:PreviewChars", "Dashboard")]
    [InlineData("DevTool", "--Broker:Uri=http://127.0.0.1:4650", "Broker:Uri", "Broker")]
    [InlineData("DevTool", "--Limits:MaxBatchSze=5", "Limits:MaxBatchSze", "Limits")]
    [InlineData("UserApp", "--UserApp:DispatchParalelism=3", "UserApp:DispatchParalelism", "UserApp")]
    [InlineData("UserApp", "--Broker:MaxRetry=2", "Broker:MaxRetry", "Broker")]
    [InlineData("UserApp", "--Outages:LogIntervall=00:00:01", "Outages:LogIntervall", "Outages")]
    [InlineData("UserApp", "--Limits:DefaultPeekSze=0", "Limits:DefaultPeekSze", "Limits")]
    public async Task A_key_that_names_no_setting_of_a_WonderQ_section_is_refused_in_one_line_naming_it(string app, string arg, string key, string section)
    {
        var said = await RefusalOfAsync(app, arg);

        said.Should().Be($"WonderQ {DisplayName(app)} did not start: {key} is not a setting of {section}: check its spelling against appsettings.json.");
    }

    [Theory]
    [InlineData("Broker", "--Storag:Sqlite:Path=elsewhere.db", "'Storag'", "Limits, Outages, Auth, Storage, Memory")]
    [InlineData("Broker", "--Sqlite:Path=elsewhere.db", "'Sqlite'", "Limits, Outages, Auth, Storage, Memory")]
    [InlineData("DevTool", "--Dashbord:MaxQueueRows=50", "'Dashbord'", "Limits, Outages, Dashboard, Broker")]
    [InlineData("UserApp", "--UsrApp:ListenerSize=5", "'UsrApp'", "Limits, Outages, UserApp, Broker")]
    public async Task A_command_line_key_whose_section_the_app_does_not_have_is_refused_rather_than_leaving_that_sections_defaults(
        string app, string arg, string named, string sections)
    {
        var said = await RefusalOfAsync(app, arg);

        said.Should().Be($"WonderQ {DisplayName(app)} did not start: {named} on the command line names no section of this app's settings "
            + $"({sections}, and the host's Urls, Logging, Kestrel, AllowedHosts): check the spelling against appsettings.json.");
    }

    [Fact]
    public async Task Api_keys_given_as_one_value_rather_than_a_list_are_refused_rather_than_leaving_the_broker_open()
    {
        var said = await RefusalOfAsync("Broker", "--Auth:ApiKeys=s3cret");

        said.Should().Be("WonderQ broker did not start: Auth:ApiKeys is a list: give each item its own index, Auth:ApiKeys:0, " +
            "Auth:ApiKeys:1 and so on (Auth__ApiKeys__0 in the environment).");
    }

    [Fact]
    public async Task Api_keys_given_as_one_environment_variable_are_refused_rather_than_leaving_the_broker_open()
    {
        using var database = new TempDatabase();

        var said = await RefusalOfAsync("Broker", database, new Dictionary<string, string> { ["Auth__ApiKeys"] = "s3cret" });

        said.Should().Contain("Auth:ApiKeys is a list");
    }

    [Fact]
    public async Task A_key_that_names_no_setting_is_refused_when_it_comes_from_the_environment()
    {
        using var database = new TempDatabase();

        var said = await RefusalOfAsync("Broker", database, new Dictionary<string, string> { ["Storage__Sqlite__Synchronus"] = "NORMAL" });

        said.Should().Be("WonderQ broker did not start: Storage:Sqlite:Synchronus is not a setting of Storage:Sqlite: check its spelling against appsettings.json.");
    }

    [Theory]
    [InlineData("Broker", "Limits", "DefaultVisibilityTimeoutSeconds")]
    [InlineData("Broker", "Storage:Sqlite", "Synchronous")]
    [InlineData("UserApp", "UserApp", "ListenerWaitTimeSeconds")]
    public async Task A_setting_written_as_null_in_appsettings_json_is_refused_rather_than_taken_for_0_or_crashing_the_start(string app, string section, string key)
    {
        // Bound as its type's default, a null visibility timeout of 0 delivered every message twice; a null text crashed.
        using var database = new TempDatabase();
        var settings = JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.AppDirectory(app), "appsettings.json")))!;
        var parent = section.Split(':').Aggregate(settings, (node, name) => node[name]!);
        parent[key] = null;
        File.WriteAllText(Path.Combine(database.Directory, "appsettings.json"), settings.ToJsonString());

        var said = await RefusalOfAsync(app, database, "--contentRoot", database.Directory);

        said.Should().StartWith($"WonderQ {DisplayName(app)} did not start: {section}:{key} is null: give it a value, or leave the key out for its default.");
    }

    [Theory]
    [InlineData("Broker", "--Limits:MaxBatchSize=0", "Limits:MaxBatchSize must be from 1 to 10000.")]
    [InlineData("Broker", "--Limits:MaxMessageBytes=100000000", "Limits:MaxMessageBytes must be from 1 to 67108864.")]
    [InlineData("Broker", "--Limits:DefaultConsumeSize=20000", "Limits:DefaultConsumeSize must be from 1 to 10000.")]
    [InlineData("Broker", "--Outages:RetryAfterSeconds=0", "Outages:RetryAfterSeconds must be from 1 to 3600.")]
    [InlineData("Broker", "--Auth:ApiKeys:0= s3cret", "Auth:ApiKeys:0 must not start or end with spaces.")]
    [InlineData("Broker", "--Storage:Sqlite:MaxBatchOperations=200000", "Storage:Sqlite:MaxBatchOperations must be from 1 to 100000.")]
    [InlineData("Broker", "--Storage:Sqlite:PurgeBatchSize=0", "Storage:Sqlite:PurgeBatchSize must be from 1 to 100000.")]
    [InlineData("Broker", "--Storage:Sqlite:PurgeBatchBytes=0", "Storage:Sqlite:PurgeBatchBytes must be from 1 to 1073741824.")]
    [InlineData("Broker", "--Memory:IdleCollectAfter=00:00:00.500", "Memory:IdleCollectAfter must be 00:00:00 (never) or from 00:00:01 to 1.00:00:00.")]
    [InlineData("Broker", "--Memory:IdleCollectMinBytes=-1", "Memory:IdleCollectMinBytes must be from 0 to 1099511627776.")]
    [InlineData("DevTool", "--Dashboard:PreviewCharacters=50", "Dashboard:PreviewCharacters must be from 100 to 1000000.")]
    [InlineData("DevTool", "--Dashboard:MaxQueueRows=5", "Dashboard:MaxQueueRows must be from 10 to 100000.")]
    [InlineData("DevTool", "--Dashboard:RefreshInterval=00:02:00", "Dashboard:RefreshInterval must be from 00:00:00.100 to 00:01:00.")]
    [InlineData("DevTool", "--Broker:AttemptTimeout=00:20:00", "Broker:AttemptTimeout must be more than 00:00:00 and at most 00:10:00.")]
    [InlineData("DevTool", "--Limits:MaxBatchSize=0", "Limits:MaxBatchSize must be from 1 to 10000.")]
    [InlineData("UserApp", "--UserApp:DispatchParallelism=0", "UserApp:DispatchParallelism must be from 1 to 256.")]
    [InlineData("UserApp", "--UserApp:ListenerSize=20000", "UserApp:ListenerSize must be from 1 to 10000.")]
    [InlineData("UserApp", "--UserApp:ListenerInitialBackoff=00:20:00", "UserApp:ListenerInitialBackoff must be more than 00:00:00 and at most 00:10:00.")]
    [InlineData("UserApp", "--UserApp:ListenerStopGrace=00:02:00", "UserApp:ListenerStopGrace must be from 00:00:00 to 00:01:00.")]
    [InlineData("DevTool", "--Broker:StopGrace=00:01:00", "Broker:StopGrace must be from 00:00:00 to 00:00:20.")]
    [InlineData("UserApp", "--Limits:MaxBatchSize=0", "Limits:MaxBatchSize must be from 1 to 10000.")]
    [InlineData("UserApp", "--Broker:Url=notaurl", "Broker:Url must be an absolute http(s) URL, e.g. http://localhost:3213.")]
    [InlineData("DevTool", "--Broker:Url=http://admin:s3cret@localhost:3213",
        "Broker:Url must not hold a user name or password, which this app would not send but show in its log and its errors: for a broker with Auth:ApiKeys, set Broker:ApiKey.")]
    [InlineData("UserApp", "--Broker:Url=http://localhost:3213/wonderq?x=1",
        "Broker:Url must be the broker's base URL, without a query or fragment, e.g. http://localhost:3213.")]
    [InlineData("DevTool", "--Broker:Url=", "Broker:Url is required.")]
    [InlineData("Broker", "--Storage:Provider=mysql", "Storage:Provider 'mysql' is not supported; use 'sqlite' or 'postgres'.")]
    [InlineData("Broker", "--Storage:Provider=postgres",
        "Storage:Postgres:ConnectionString must be set when Storage:Provider is 'postgres' (for example Host=127.0.0.1;Port=5432;Database=wonderq;Username=wonderq).")]
    [InlineData("Broker", "--Storage:Postgres:ConnectionString=Host=db;Database=wonderq",
        "Storage:Postgres:ConnectionString is set, but Storage:Provider is 'sqlite': the broker would store in Storage:Sqlite:Path. Set Storage:Provider to 'postgres', or remove the connection string.")]
    public async Task A_value_out_of_range_is_said_in_its_own_words_without_the_checks_against_it_that_fail_because_of_it(
        string app, string arg, string reason)
    {
        var said = await RefusalOfAsync(app, arg);

        said.Should().Be($"WonderQ {DisplayName(app)} did not start: {reason}");
    }

    /// <summary>The host waits no longer for the requests under way: the grace could not be honoured.</summary>
    [Theory]
    [InlineData("DevTool")]
    [InlineData("UserApp")]
    public async Task A_stop_grace_past_the_host_s_shutdown_timeout_is_refused_naming_both(string app)
    {
        var said = await RefusalOfAsync(app, "--shutdownTimeoutSeconds=8", "--Broker:StopGrace=00:00:10");

        said.Should().Be(
            $"WonderQ {DisplayName(app)} did not start: Broker:StopGrace must be less than the host's shutdown timeout (shutdownTimeoutSeconds, 30 unless set).");
    }

    /// <summary>
    /// The host would take its default of 30 for each of these without a word, and a stop grace checked against it would
    /// be blamed for a value the operator never gave.
    /// </summary>
    [Theory]
    [InlineData("Broker", "abc")]
    [InlineData("DevTool", "-5")]
    [InlineData("UserApp", "")]
    [InlineData("UserApp", "2147483648")]
    public async Task A_shutdown_timeout_the_host_cannot_read_is_refused_naming_the_value(string app, string value)
    {
        var said = await RefusalOfAsync(app, $"--shutdownTimeoutSeconds={value}");

        said.Should().Be(
            $"WonderQ {DisplayName(app)} did not start: shutdownTimeoutSeconds is '{value}', which is not a whole number of seconds: give one from 0 to 2147483647, such as 30.");
    }

    [Fact]
    public async Task A_broker_whose_PostgreSQL_server_does_not_answer_says_so_in_one_line()
    {
        var said = await RefusalOfAsync(
            "Broker",
            "--Storage:Provider=postgres",
            $"--Storage:Postgres:ConnectionString=Host=127.0.0.1;Port={FreePort.Next()};Database=wonderq;Username=wonderq;Password=s3cret;Timeout=2");

        said.Should().StartWith("WonderQ broker did not start: cannot use the PostgreSQL database of Storage:Postgres:ConnectionString: ")
            .And.EndWith("Check that the server is up and that the setting names it.")
            .And.NotContain("s3cret");
    }

    [Theory]
    [InlineData("--Storage:Postgres:MaxBatchSends=0", "Storage:Postgres:MaxBatchSends must be from 1 to 10000.")]
    [InlineData("--Storage:Postgres:MaxBatchSendBytes=100", "Storage:Postgres:MaxBatchSendBytes must be from 1024 to 268435456.")]
    [InlineData("--Storage:Postgres:MaxBatchDeletes=20000", "Storage:Postgres:MaxBatchDeletes must be from 1 to 10000.")]
    [InlineData("--Storage:Postgres:NotificationCheckInterval=00:00:00.500", "Storage:Postgres:NotificationCheckInterval must be from 00:00:01 to 01:00:00.")]
    [InlineData("--Storage:Postgres:NotificationRetryInterval=00:10:00", "Storage:Postgres:NotificationRetryInterval must be from 00:00:00.010 to 00:05:00.")]
    [InlineData("--Storage:Postgres:NotificationCheckTimeoutSeconds=0", "Storage:Postgres:NotificationCheckTimeoutSeconds must be from 1 to 300.")]
    [InlineData("--Storage:Postgres:FinalNotificationTimeout=00:02:00", "Storage:Postgres:FinalNotificationTimeout must be from 00:00:00 to 00:01:00.")]
    // Within its range, but past the host's 30 s of shutdown, which would cut it short.
    [InlineData("--Storage:Postgres:FinalNotificationTimeout=00:00:40", "Storage:Postgres:FinalNotificationTimeout must be less than the host's shutdown timeout (shutdownTimeoutSeconds, 30 unless set).")]
    public async Task A_PostgreSQL_setting_out_of_range_is_said_before_the_server_is_tried(string arg, string reason)
    {
        // A server that would not answer: the setting is refused first, not the connection after a timeout.
        var said = await RefusalOfAsync(
            "Broker", "--Storage:Provider=postgres", $"--Storage:Postgres:ConnectionString=Host=127.0.0.1;Port={FreePort.Next()};Timeout=2", arg);

        said.Should().Be($"WonderQ broker did not start: {reason}");
    }

    [Theory]
    [InlineData("--Storage:Sqlite:BusyTimeout=00:00:00")]
    [InlineData("--Storage:Sqlite:Synchronous=OFF")]
    public async Task A_SQLite_setting_out_of_range_does_not_stop_a_broker_on_PostgreSQL_which_never_reads_it(string arg)
    {
        // The server is not there: what stops the broker is that, not a setting of the store it does not use.
        var said = await RefusalOfAsync(
            "Broker", "--Storage:Provider=postgres", $"--Storage:Postgres:ConnectionString=Host=127.0.0.1;Port={FreePort.Next()};Timeout=2", arg);

        said.Should().StartWith("WonderQ broker did not start: cannot use the PostgreSQL database of Storage:Postgres:ConnectionString");
    }

    [Fact]
    public async Task A_PostgreSQL_connection_string_Npgsql_cannot_read_is_refused_without_repeating_any_of_it()
    {
        var said = await RefusalOfAsync("Broker", "--Storage:Provider=postgres", "--Storage:Postgres:ConnectionString=Host=db;Password=pa;ss=word");

        said.Should().Be(
            "WonderQ broker did not start: Storage:Postgres:ConnectionString is not a connection string Npgsql reads: a key it does not know, or a value of the wrong form (a value with a ';' in it goes in quotes).");
    }

    [Fact]
    public async Task A_PostgreSQL_pool_of_one_connection_is_refused_as_the_broker_keeps_one_for_listening()
    {
        // A server that would not answer: with a pool of one, one that did would have every request wait for the
        // listening connection and answer 503.
        var said = await RefusalOfAsync(
            "Broker", "--Storage:Provider=postgres", $"--Storage:Postgres:ConnectionString=Host=127.0.0.1;Port={FreePort.Next()};Timeout=2;Maximum Pool Size=1");

        said.Should().Be(
            "WonderQ broker did not start: Storage:Postgres:ConnectionString sets Maximum Pool Size 1: the broker holds one connection to hear the other brokers' changes, and needs at least one more for requests. Set it to 2 or more.");
    }

    /// <summary>
    /// The apps share the Limits section, but each checks only the settings it reads: the UserApp takes no peek and holds
    /// no waiting consumers, the DevTool consumes nothing, and neither is stopped over a value it would never use.
    /// </summary>
    [Theory]
    [InlineData("UserApp", "--Limits:DefaultPeekSize=0")]
    [InlineData("UserApp", "--Limits:DefaultConsumeSize=0")]
    [InlineData("UserApp", "--Limits:DefaultVisibilityTimeoutSeconds=-1")]
    [InlineData("UserApp", "--Limits:MaxWaitingConsumers=0")]
    [InlineData("DevTool", "--Limits:DefaultWaitTimeSeconds=-1")]
    [InlineData("DevTool", "--Limits:MaxVisibilityTimeoutSeconds=-1")]
    public async Task A_limit_out_of_range_that_the_app_never_reads_does_not_stop_it(string app, string arg)
    {
        Func<string[], WebApplication> create = app == "DevTool" ? WonderQ.DevTool.Program.CreateApp : WonderQ.UserApp.Program.CreateApp;

        await using var started = create(["--urls", "http://127.0.0.1:0", arg]);
        var start = () => started.StartAsync();

        await start.Should().NotThrowAsync();
        await started.StopAsync();
    }

    /// <summary>The section is bound whole, so a value that does not convert stops the app whether it reads it or not.</summary>
    [Fact]
    public async Task A_limit_the_app_never_reads_still_stops_it_when_it_is_not_a_whole_number()
    {
        var said = await RefusalOfAsync("UserApp", "--Limits:DefaultPeekSize=abc");

        said.Should().Be("WonderQ UserApp did not start: Failed to convert configuration value 'abc' at 'Limits:DefaultPeekSize' to type 'System.Int32'.");
    }

    [Fact]
    public async Task Failures_in_several_sections_are_each_said_once_in_their_own_words()
    {
        var said = await RefusalOfAsync(
            "Broker", "--Limits:MaxBatchSize=0", "--Outages:RetryAfterSeconds=0", "--Storage:Sqlite:Synchronus=NORMAL", "--Auth:ApiKeys:0=");

        said.Should().StartWith("WonderQ broker did not start: ")
            .And.Contain(" Limits:MaxBatchSize must be from 1 to 10000.")
            .And.Contain(" Outages:RetryAfterSeconds must be from 1 to 3600.")
            .And.Contain(" Storage:Sqlite:Synchronus is not a setting of Storage:Sqlite: check its spelling against appsettings.json.")
            .And.Contain(" Auth:ApiKeys:0 is empty")
            .And.NotContain("DataAnnotation").And.NotContain(".;").And.NotContain("'.")
            .And.NotContain("Limits:DefaultConsumeSize").And.NotContain("Limits:DefaultPeekSize");
    }

    [Fact]
    public async Task An_api_key_not_numbered_from_0_is_named_as_it_was_written_not_by_its_place_in_the_list()
    {
        var said = await RefusalOfAsync("Broker", "--Auth:ApiKeys:0=s3cret", "--Auth:ApiKeys:3=");

        said.Should().Be(
            "WonderQ broker did not start: Auth:ApiKeys:3 is empty: give it a key, or set no Auth:ApiKeys at all to run without keys.");
    }

    [Theory]
    [InlineData("Broker", "--Logging:LogLevel:Default=Verbose", "Logging:LogLevel:Default", "Verbose")]
    [InlineData("DevTool", "--Logging:LogLevel:Microsoft.AspNetCore=Loud", "Logging:LogLevel:Microsoft.AspNetCore", "Loud")]
    [InlineData("UserApp", "--Logging:Console:LogLevel:Default=Warn", "Logging:Console:LogLevel:Default", "Warn")]
    [InlineData("Broker", "--Logging:Console:LogLevel:Microsoft.AspNetCore=Loud", "Logging:Console:LogLevel:Microsoft.AspNetCore", "Loud")]
    public async Task A_log_level_that_is_not_one_is_refused_in_one_line_naming_its_key_and_the_levels(string app, string arg, string key, string value)
    {
        var said = await RefusalOfAsync(app, arg);

        said.Should().Be($"WonderQ {DisplayName(app)} did not start: {key} is '{value}', which is not a log level: " +
            "use Trace, Debug, Information, Warning, Error, Critical or None.");
    }

    /// <summary>
    /// ASP.NET Core reads these without a word: an empty level as no rule (the category logs at the default level), a
    /// number past None as a level that logs nothing, and a level given to the section itself not at all.
    /// </summary>
    [Theory]
    [InlineData("DevTool", "--Logging:LogLevel:Microsoft.AspNetCore=",
        "Logging:LogLevel:Microsoft.AspNetCore is empty: give it a log level (Trace, Debug, Information, Warning, Error, Critical or None), or remove it.")]
    [InlineData("UserApp", "--Logging:LogLevel:Default=9",
        "Logging:LogLevel:Default is '9', which is not a log level: use Trace, Debug, Information, Warning, Error, Critical or None.")]
    [InlineData("Broker", "--Logging:LogLevel=Warning",
        "Logging:LogLevel is a section, not a level: give each category its own key, such as Logging:LogLevel:Default.")]
    public async Task A_log_level_the_framework_would_take_for_none_or_for_silence_is_refused_in_one_line(string app, string arg, string reason)
    {
        var said = await RefusalOfAsync(app, arg);

        said.Should().Be($"WonderQ {DisplayName(app)} did not start: {reason}");
    }

    [Fact]
    public async Task Log_levels_written_in_any_case_still_start_the_app()
    {
        await using var started = WonderQ.DevTool.Program.CreateApp(
            ["--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default=warning", "--Logging:Console:LogLevel:Polly=NONE"]);
        var start = () => started.StartAsync();

        await start.Should().NotThrowAsync();
        await started.StopAsync();
    }

    [Fact]
    public async Task Values_out_of_range_in_two_sections_are_refused_together_in_one_line()
    {
        var said = await RefusalOfAsync("UserApp", "--Broker:MaxRetries=99", "--UserApp:DispatchParallelism=0");

        said.Should().Contain("Broker:MaxRetries").And.Contain("UserApp:DispatchParallelism");
    }

    [Fact]
    public async Task An_address_given_twice_is_refused_as_such_not_blamed_on_another_process()
    {
        var port = FreePort.Next();
        var said = await RefusalOfAsync("Broker", $"--Urls=http://127.0.0.1:{port};http://127.0.0.1:{port}/");

        said.Should().Contain($"http://127.0.0.1:{port}/ is given twice (Urls)").And.NotContain("another process");
    }

    /// <summary>A variable left unset (--urls=$URLS): Kestrel would listen on its own default, http://localhost:5000.</summary>
    [Theory]
    [InlineData("DevTool", "--urls=")]
    [InlineData("Broker", "--Urls=;")]
    public async Task Urls_that_name_no_address_are_refused_rather_than_listening_on_Kestrels_default(string app, string arg)
    {
        var said = await RefusalOfAsync(app, arg);

        said.Should().Be($"WonderQ {DisplayName(app)} did not start: Urls names no address to listen on: give one or more, ';'-separated, " +
            "such as http://127.0.0.1:3213, or endpoints under Kestrel:Endpoints.");
    }

    [Fact]
    public async Task An_address_that_is_not_a_url_is_refused_in_one_line()
    {
        var said = await RefusalOfAsync("Broker", "--Urls=notaurl");

        said.Should().Contain("notaurl").And.Contain("(Urls)");
    }

    [Theory]
    [InlineData("Broker")]
    [InlineData("DevTool")]
    public async Task An_https_address_without_a_certificate_is_refused_in_one_line(string app)
    {
        var said = await RefusalWithoutCertificatesAsync(app, new(), "--Urls=https://127.0.0.1:0");

        said.Should().Contain("https://127.0.0.1:0").And.Contain("Urls").And.Contain("Kestrel:Certificates:Default");
    }

    [Fact]
    public async Task A_default_certificate_whose_file_is_not_there_is_refused_in_one_line()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"wonderq-no-such-{Guid.NewGuid():N}.pfx");

        var said = await RefusalWithoutCertificatesAsync(
            "Broker", new() { ["Kestrel__Certificates__Default__Path"] = missing }, "--Urls=https://127.0.0.1:0");

        said.Should().Be("WonderQ broker did not start: a server certificate under Kestrel:Certificates or Kestrel:Endpoints cannot be " +
            $"loaded (Could not find file '{missing}'): check its Path and any KeyPath or Password, or for one from a certificate store its Subject and Store.");
    }

    [Theory]
    [InlineData("DevTool")]
    [InlineData("UserApp")]
    public async Task An_endpoint_certificate_given_a_wrong_password_is_refused_in_one_line(string app)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var path = Path.Combine(Path.GetTempPath(), $"wonderq-{Guid.NewGuid():N}.pfx");
        await File.WriteAllBytesAsync(path, certificate.Export(X509ContentType.Pfx, "right"));
        try
        {
            var said = await RefusalWithoutCertificatesAsync(app, new()
            {
                ["Kestrel__Endpoints__Web__Url"] = "https://127.0.0.1:0",
                ["Kestrel__Endpoints__Web__Certificate__Path"] = path,
                ["Kestrel__Endpoints__Web__Certificate__Password"] = "wrong",
            });

            said.Should().StartWith($"WonderQ {DisplayName(app)} did not start: a server certificate under Kestrel:Certificates or Kestrel:Endpoints cannot be loaded (")
                .And.Contain("password");
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Settings Kestrel checks only as it starts, in its own words: before, the app aborted with a stack trace.</summary>
    [Theory]
    [InlineData("Broker", "Protocols", "Http3", "HTTP/3 requires HTTPS.")]
    [InlineData("UserApp", "SslProtocols__0", "Tls12", "The non-HTTPS endpoint Web includes HTTPS-only configuration for SslProtocols.")]
    public async Task An_endpoint_setting_kestrel_refuses_as_it_starts_is_refused_in_one_line(string app, string key, string value, string kestrelSays)
    {
        using var database = new TempDatabase();

        var said = await RefusalOfAsync(app, database, new Dictionary<string, string>
        {
            ["Kestrel__Endpoints__Web__Url"] = "http://127.0.0.1:0",
            [$"Kestrel__Endpoints__Web__{key}"] = value,
        }, "--urls=");

        said.Should().Be($"WonderQ {DisplayName(app)} did not start: Kestrel refused where or how to listen (Kestrel:Endpoints): {kestrelSays}");
    }

    [Theory]
    [InlineData("Broker")]
    [InlineData("DevTool")]
    [InlineData("UserApp")]
    public async Task An_https_endpoint_without_a_certificate_is_refused_in_one_line_naming_its_key(string app)
    {
        var said = await RefusalWithoutCertificatesAsync(app, new() { ["Kestrel__Endpoints__Web__Url"] = "https://127.0.0.1:0" });

        said.Should().Contain("https://127.0.0.1:0 (Kestrel:Endpoints:Web:Url) needs a server certificate")
            .And.Contain("Kestrel:Endpoints:Web:Certificate").And.Contain("Kestrel:Certificates:Default");
    }

    [Fact]
    public async Task A_content_root_that_does_not_exist_is_refused_in_one_line()
    {
        var said = await RefusalOfAsync("DevTool", "--contentRoot", "DevTool/bin/Release/net10.0");

        said.Should().Contain("content root").And.Contain("DevTool/bin/Release/net10.0").And.Contain("absolute path");
    }

    [Theory]
    [InlineData("Broker")]
    [InlineData("DevTool")]
    [InlineData("UserApp")]
    public async Task A_port_another_process_holds_is_refused_in_one_line(string app)
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var url = FreePort.Url(((IPEndPoint)holder.LocalEndpoint).Port).ToString().TrimEnd('/');

        var said = await RefusalOfAsync(app, "--urls", url);

        said.Should().Contain($"{url} is already in use by another process (Urls)").And.Contain("choose another port");
    }

    [Fact]
    public async Task A_broker_that_could_not_listen_ends_its_commit_writer()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        using var database = new TempDatabase();
        var app = WonderQ.Broker.Program.CreateApp(
            ["--urls", FreePort.Url(((IPEndPoint)holder.LocalEndpoint).Port).ToString(), $"--Storage:Sqlite:Path={database.Path}"]);
        var writers = app.Services.GetServices<IHostedService>().OfType<BackgroundService>().ToList();

        var start = () => app.StartAsync();

        (await start.Should().ThrowAsync<IOException>()).WithInnerException<AddressInUseException>();
        await app.DisposeAsync();
        // A host that failed to start is disposed, not stopped: a writer still waiting for work would keep its thread
        // and its connection to the file for as long as the process lives.
        writers.Should().NotBeEmpty();
        Func<Task> loops = () => Task.WhenAll(writers.Select(w => w.ExecuteTask ?? Task.CompletedTask));
        await loops.Should().CompleteWithinAsync(TimeSpan.FromSeconds(10), "the commit writer's loop ends when the broker is disposed");
    }

    [Fact]
    public async Task A_port_out_of_range_is_refused_in_one_line()
    {
        var said = await RefusalOfAsync("UserApp", "--urls", "http://127.0.0.1:80000");

        said.Should().Contain("http://127.0.0.1:80000").And.Contain("(Urls)").And.Contain("65535");
    }

    [Fact]
    public async Task A_port_out_of_range_in_Kestrel_s_endpoints_is_refused_in_one_line_naming_them()
    {
        var said = await RefusalOfAsync("Broker", "--Kestrel:Endpoints:H2c:Url=http://127.0.0.1:80000");

        said.Should().Contain("http://127.0.0.1:80000").And.Contain("(Kestrel:Endpoints)");
    }

    [Fact]
    public async Task A_database_path_that_is_a_directory_is_refused_in_one_line()
    {
        using var database = new TempDatabase();

        var said = await RefusalOfAsync("Broker", database, $"--Storage:Sqlite:Path={database.Directory}");

        said.Should().Contain($"cannot open the database {database.Directory} (Storage:Sqlite:Path): it is a directory");
        File.Exists(database.Directory + ".lock").Should().BeFalse("a path refused leaves nothing behind");
    }

    [Fact]
    public async Task A_file_that_is_not_a_database_is_refused_without_leaving_a_lock_file_beside_it()
    {
        using var database = new TempDatabase();
        File.WriteAllText(database.Path, "not a database");

        var said = await RefusalOfAsync("Broker", database, $"--Storage:Sqlite:Path={database.Path}");

        said.Should().Contain("it is not a SQLite database");
        Directory.GetFiles(database.Directory).Should().Equal([database.Path], "the lock file the broker made for this start goes with it");
    }

    [Fact]
    public async Task A_lock_file_found_beside_a_file_that_is_not_a_database_is_left_there()
    {
        using var database = new TempDatabase();
        File.WriteAllText(database.Path, "not a database");
        File.WriteAllText(database.Path + ".lock", "");

        var said = await RefusalOfAsync("Broker", database, $"--Storage:Sqlite:Path={database.Path}");

        said.Should().Contain("it is not a SQLite database");
        File.Exists(database.Path + ".lock").Should().BeTrue("a refused broker removes only a lock file it made itself");
    }

    /// <summary>
    /// A backup by <c>cp</c> of the file alone after a crash, restored: until SQLite folds the -wal into the file, all
    /// the broker stored is in the -wal, and the file alone read as a new one, the broker starting on it empty.
    /// </summary>
    [Fact]
    public async Task A_file_copied_without_its_wal_after_a_crash_is_refused_and_starts_whole_with_it()
    {
        // Arrange: messages stored, and the broker killed before any checkpoint; the file is copied alone.
        using var database = new TempDatabase();
        using var copy = new TempDatabase();
        var port = FreePort.Next();
        using (var broker = AppProcess.StartBroker(database.Path, port))
        {
            await broker.WaitReadyAsync();
            using var client = broker.CreateClient();
            await client.CreateQueueAsync("kept");
            for (var i = 0; i < 20; i++)
            {
                await client.SendAsync("kept", $"message {i}");
            }

            broker.Kill();
        }

        File.Copy(database.Path, copy.Path);

        // Act
        var said = await RefusalOfAsync("Broker", copy, $"--Storage:Sqlite:Path={copy.Path}");

        // Assert: refused, naming the missing file; with it put back (as the docs' restore says), every message is there.
        said.Should().Contain($"cannot open the database {copy.Path} (Storage:Sqlite:Path): it is in WAL mode but holds no tables")
            .And.Contain($"Put the -wal file it was copied with beside it as {Path.GetFileName(copy.Path)}-wal");
        File.Delete(copy.Path + "-shm");
        File.Copy(database.Path + "-wal", copy.Path + "-wal", overwrite: true);
        using var restored = AppProcess.StartBroker(copy.Path, FreePort.Next());
        await restored.WaitReadyAsync();
        using var restoredClient = restored.CreateClient();
        (await restoredClient.ConsumeAsync("kept", size: 100)).Select(m => m.Body).Should().BeEquivalentTo(Enumerable.Range(0, 20).Select(i => $"message {i}"));
    }

    [Fact]
    public async Task A_file_that_is_not_a_database_is_refused_in_one_line_and_kept()
    {
        using var database = new TempDatabase();
        var text = string.Concat(Enumerable.Repeat("not a database, but someone's notes. ", 50));
        File.WriteAllText(database.Path, text);

        var said = await RefusalOfAsync("Broker", database, $"--Storage:Sqlite:Path={database.Path}");

        said.Should().Contain($"cannot open the database {database.Path} (Storage:Sqlite:Path): it is not a SQLite database");
        File.ReadAllText(database.Path).Should().Be(text, "a file that is not the broker's is left as it was");
    }

    [Theory]
    [InlineData("CREATE TABLE people (name TEXT); INSERT INTO people VALUES ('kept');", "people")]
    [InlineData("CREATE TABLE queues (id INTEGER PRIMARY KEY, title TEXT);", "queues")] // a name the broker's schema uses
    public async Task Another_application_s_SQLite_database_is_refused_in_one_line_and_left_as_it_was(string sql, string table)
    {
        using var database = new TempDatabase();
        CreateDatabase(database, sql);
        var before = File.ReadAllBytes(database.Path);

        var said = await RefusalOfAsync("Broker", database, $"--Storage:Sqlite:Path={database.Path}");

        said.Should().Contain($"cannot open the database {database.Path} (Storage:Sqlite:Path): it is a SQLite database that WonderQ did not make (it has a table '{table}'");
        File.ReadAllBytes(database.Path).Should().Equal(before, "neither the broker's tables nor WAL mode are added to a file that is not its own");
        File.Exists(database.Path + "-wal").Should().BeFalse();
    }

    [Theory]
    [InlineData("CREATE TABLE people (name TEXT); INSERT INTO people VALUES ('kept'); PRAGMA user_version = 1;", "a table 'people'")]
    [InlineData("CREATE TABLE messages (id INTEGER PRIMARY KEY, text TEXT); PRAGMA user_version = 2;", "a table 'messages'")]
    [InlineData("PRAGMA user_version = 3;", "no tables")]
    public async Task Another_application_s_database_with_a_schema_version_of_its_own_is_refused_in_one_line_and_left_as_it_was(string sql, string has)
    {
        // Many applications set a user_version; one the broker could have set stopped it with a stack trace when an
        // upgrade script met a table it expected missing, after it had switched the file to WAL.
        using var database = new TempDatabase();
        CreateDatabase(database, sql);
        var before = File.ReadAllBytes(database.Path);

        var said = await RefusalOfAsync("Broker", database, $"--Storage:Sqlite:Path={database.Path}");

        said.Should().Contain($"cannot open the database {database.Path} (Storage:Sqlite:Path): it is a SQLite database that WonderQ did not make (its schema version is")
            .And.Contain($"but it has {has} and not WonderQ's 'queues' and 'messages'");
        File.ReadAllBytes(database.Path).Should().Equal(before, "a file that is not the broker's is left as it was");
        File.Exists(database.Path + "-wal").Should().BeFalse();
    }

    [Fact]
    public async Task A_database_of_a_newer_schema_version_is_refused_in_one_line_and_left_as_it_was()
    {
        using var database = new TempDatabase();
        CreateDatabase(database, $"PRAGMA journal_mode = WAL; {CurrentSchema()} ALTER TABLE messages ADD COLUMN priority INTEGER; PRAGMA user_version = 99;");

        var before = File.ReadAllBytes(database.Path);

        var said = await RefusalOfAsync("Broker", database, $"--Storage:Sqlite:Path={database.Path}");

        said.Should().Contain($"cannot open the database {database.Path} (Storage:Sqlite:Path): its schema is version 99, newer than this broker's")
            .And.Contain("a newer WonderQ broker has used it");
        File.ReadAllBytes(database.Path).Should().Equal(before, "a newer broker's file is not this broker's to change");
    }

    [Fact]
    public async Task A_file_of_a_later_schema_version_without_WonderQ_s_tables_is_not_switched_to_WAL()
    {
        using var database = new TempDatabase();
        CreateDatabase(database, "CREATE TABLE notes (body TEXT); PRAGMA user_version = 99;");
        var before = File.ReadAllBytes(database.Path);

        var said = await RefusalOfAsync("Broker", database, $"--Storage:Sqlite:Path={database.Path}");

        said.Should().Contain("its schema is version 99, newer than this broker's")
            .And.Contain("it is another application's database, or a newer WonderQ broker's");
        File.ReadAllBytes(database.Path).Should().Equal(before, "its journal mode is the application's");
        File.Exists(database.Path + "-wal").Should().BeFalse();
    }

    [Fact]
    public async Task A_damaged_database_is_refused_in_one_line_and_left_as_it_was()
    {
        using var database = new TempDatabase();
        CreateDatabase(database, "PRAGMA journal_mode = WAL; CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('kept');");

        // The first page past the file's header holds the schema: overwritten, as a failing disk can leave it.
        using (var file = File.OpenWrite(database.Path))
        {
            file.Position = 100;
            file.Write(Enumerable.Repeat((byte)0xFF, 200).ToArray());
        }

        var before = File.ReadAllBytes(database.Path);

        var said = await RefusalOfAsync("Broker", database, $"--Storage:Sqlite:Path={database.Path}");

        said.Should().Contain($"cannot open the database {database.Path} (Storage:Sqlite:Path): it is damaged");
        File.ReadAllBytes(database.Path).Should().Equal(before, "what is left of it is the operator's to salvage");
    }

    [Fact]
    public async Task A_database_that_SQLite_can_only_read_is_refused_in_one_line()
    {
        // A write version above 2 in the file's header makes SQLite open it read-only, as it does a file or a folder
        // this user may not write: the test's stand-in for those, since the tests may run as root.
        using var database = new TempDatabase();
        CreateDatabase(database, $"PRAGMA journal_mode = WAL; {CurrentSchema()}");

        using (var file = File.OpenWrite(database.Path))
        {
            file.Position = 18;
            file.WriteByte(3);
        }

        var said = await RefusalOfAsync("Broker", database, $"--Storage:Sqlite:Path={database.Path}");

        said.Should().Contain($"cannot open the database {database.Path} (Storage:Sqlite:Path): SQLite can only read it")
            .And.Contain("this user can write it and its folder");
    }

    [UnwritableFileFact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task A_database_whose_shm_file_this_user_cannot_write_is_refused_in_one_line()
    {
        // A start refused on a read-only file leaves its -wal and -shm behind with the file's mode; once the file alone
        // was made writable again, the broker started, answered /healthz 200 and every write 503. As root no mode
        // stops a write: an immutable -shm is the stand-in.
        using var database = new TempDatabase();
        CreateDatabase(database, $"PRAGMA journal_mode = WAL; {CurrentSchema()}");
        var shm = database.Path + "-shm";
        File.WriteAllBytes(shm, new byte[32 * 1024]);
        await File.WriteAllBytesAsync(database.Path + "-wal", []);
        var immutable = await ForbidWritingAsync(shm);
        immutable.Should().NotBeNull("chattr +i worked on a file in the temp folder when the test was discovered");

        try
        {
            var said = await RefusalOfAsync("Broker", database, $"--Storage:Sqlite:Path={database.Path}");

            said.Should().Contain($"cannot open the database {database.Path} (Storage:Sqlite:Path): SQLite can only read it")
                .And.Contain($"This user cannot write {shm} beside it", "it can write the file and its folder: the -shm is the one to fix")
                .And.Contain("remove them (the -wal holds no commits)");
        }
        finally
        {
            if (immutable == true)
            {
                await RunAsync("chattr", "-i", shm);
            }
        }
    }

    /// <summary>
    /// Makes <paramref name="file"/> one that this user cannot open for writing: by its mode (false), or for root by
    /// the immutable attribute (true), which must be taken off again; null when root's chattr +i failed.
    /// </summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    internal static async Task<bool?> ForbidWritingAsync(string file)
    {
        if (Environment.UserName != "root")
        {
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            return false;
        }

        try
        {
            return (await RunAsync("chattr", "+i", file)).ExitCode == 0 ? true : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No chattr (e2fsprogs) on this machine.
            return null;
        }
    }

    internal static async Task<(int ExitCode, string Said)> RunAsync(string program, params string[] args)
    {
        var info = new System.Diagnostics.ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = System.Diagnostics.Process.Start(info)!;
        var said = await process.StandardError.ReadToEndAsync() + await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, said);
    }

    /// <summary>
    /// A file the broker made has nothing left to upgrade, so starting on it writes nothing: were it only opened, a file
    /// SQLite can only read would start a broker whose every send, claim and delete is a 503 that names no cause.
    /// </summary>
    [Fact]
    public async Task A_database_with_the_current_schema_that_SQLite_can_only_read_is_refused_in_one_line()
    {
        using var database = new TempDatabase();
        CreateDatabase(database, $"PRAGMA journal_mode = WAL; {CurrentSchema()}");

        using (var file = File.OpenWrite(database.Path))
        {
            file.Position = 18;
            file.WriteByte(3);
        }

        var said = await RefusalOfAsync("Broker", database, $"--Storage:Sqlite:Path={database.Path}");

        said.Should().Contain($"cannot open the database {database.Path} (Storage:Sqlite:Path): SQLite can only read it");
    }

    /// <summary>
    /// The schema reads fine and the damage is further in, where the writer's first reads (the deleted queues still to
    /// purge, the latest time stamped) meet it: that was an unhandled exception with its stack trace, and the lock file
    /// left behind.
    /// </summary>
    [Fact]
    public async Task A_database_damaged_past_its_schema_is_refused_in_one_line_and_its_lock_file_removed()
    {
        using var database = new TempDatabase();
        CreateDatabase(database, $"PRAGMA journal_mode = WAL; {CurrentSchema()}");
        long root, pageSize;
        using (var connection = new SqliteConnection($"Data Source={database.Path};Pooling=false"))
        {
            connection.Open();
            using var read = connection.CreateCommand();
            read.CommandText = "SELECT rootpage FROM sqlite_master WHERE name = 'messages'";
            root = (long)read.ExecuteScalar()!;
            read.CommandText = "PRAGMA page_size";
            pageSize = (long)read.ExecuteScalar()!;
        }

        using (var file = File.OpenWrite(database.Path))
        {
            file.Position = (root - 1) * pageSize;
            file.Write(Enumerable.Repeat((byte)0xFF, (int)pageSize).ToArray());
        }

        var said = await RefusalOfAsync("Broker", database, $"--Storage:Sqlite:Path={database.Path}");

        said.Should().Contain($"cannot open the database {database.Path} (Storage:Sqlite:Path): it is damaged");
        File.Exists(database.Path + ".lock").Should().BeFalse("the lock file this start made goes with it");
    }

    [Fact]
    public async Task A_database_path_under_a_regular_file_is_refused_in_one_line()
    {
        using var database = new TempDatabase();
        var file = Path.Combine(database.Directory, "plain");
        File.WriteAllText(file, "");
        var path = Path.Combine(file, "q.db");

        var said = await RefusalOfAsync("Broker", database, $"--Storage:Sqlite:Path={path}");

        said.Should().Contain($"cannot open the database {path} (Storage:Sqlite:Path): its folder cannot be created");
    }

    [Fact]
    public async Task A_database_in_a_folder_where_its_lock_file_cannot_be_made_is_refused_in_one_line()
    {
        // Even root cannot create a file in sysfs: the test's stand-in for a folder this user may not write in.
        const string path = "/sys/wonderq-test.db";

        var said = await RefusalOfAsync("Broker", "--Storage:Sqlite:Path=" + path);

        said.Should().Contain($"cannot open the database {path} (Storage:Sqlite:Path)").And.Contain("lock file")
            .And.NotContain("in use by another WonderQ broker");
    }

    /// <summary>
    /// A broker restarted on the disk that filled up under it, here a file it may not grow past 16 KiB: opening the
    /// database needs room (its 32 KiB -shm file), and SQLite's I/O error was an unhandled exception, a stack trace and
    /// exit code 134 that named neither the file nor the disk.
    /// </summary>
    [Fact]
    public async Task A_database_whose_files_cannot_grow_as_on_a_full_disk_is_refused_in_one_line_naming_the_disk()
    {
        using var database = new TempDatabase();
        CreateDatabase(database, "PRAGMA journal_mode = DELETE; CREATE TABLE made (x); DROP TABLE made;");
        using var broker = AppProcess.StartWithFileSizeLimit("Broker", FreePort.Next(), 16, $"--Storage:Sqlite:Path={database.Path}");

        var said = await RefusalOfAsync(broker, "Broker limited to files of 16 KiB");

        said.Should().Contain($"cannot open the database {database.Path} (Storage:Sqlite:Path): SQLite could not read or write it or its -wal and -shm files")
            .And.Contain("disk I/O error").And.Contain("bytes free there now").And.Contain("Free space on the disk, or check it");
    }

    /// <summary>The name an app gives itself in its refusal.</summary>
    private static string DisplayName(string app) => app == "Broker" ? "broker" : app;

    /// <summary>Every schema script the broker runs, in order, and the version they leave the file at.</summary>
    private static string CurrentSchema()
    {
        var broker = typeof(WonderQ.Broker.Program).Assembly;
        const string Prefix = "WonderQ.Broker.Schema.";
        var scripts = broker.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        var schema = string.Concat(scripts.Select(name =>
        {
            using var reader = new StreamReader(broker.GetManifestResourceStream(name)!);
            return reader.ReadToEnd() + ";\n";
        }));
        return $"{schema} PRAGMA user_version = {int.Parse(scripts[^1].AsSpan(Prefix.Length, 4), provider: System.Globalization.CultureInfo.InvariantCulture)};";
    }

    /// <summary>A database file made by <paramref name="sql"/>, as a stand-in for one the broker did not make.</summary>
    private static void CreateDatabase(TempDatabase database, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={database.Path};Pooling=false");
        connection.Open();
        using var create = connection.CreateCommand();
        create.CommandText = sql;
        create.ExecuteNonQuery();
    }

    /// <summary>With a home of its own, so that no development certificate of the user running the tests is found.</summary>
    private async Task<string> RefusalWithoutCertificatesAsync(string app, Dictionary<string, string> environment, params string[] args)
    {
        var home = Directory.CreateTempSubdirectory("wonderq-no-certificate-");
        try
        {
            using var database = new TempDatabase();
            return await RefusalOfAsync(app, database, new Dictionary<string, string>(environment) { ["HOME"] = home.FullName }, args);
        }
        finally
        {
            home.Delete(recursive: true);
        }
    }

    private async Task<string> RefusalOfAsync(string app, params string[] args)
    {
        using var database = new TempDatabase();
        return await RefusalOfAsync(app, database, args);
    }

    /// <summary>
    /// Starts <paramref name="app"/> from its own folder with <paramref name="args"/> after its usual ones, and returns
    /// the one line it wrote once it has stopped with exit code 1; anything else it wrote fails the test.
    /// </summary>
    private Task<string> RefusalOfAsync(string app, TempDatabase database, params string[] args) =>
        RefusalOfAsync(app, database, new Dictionary<string, string>(), args);

    private async Task<string> RefusalOfAsync(string app, TempDatabase database, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        using var process = AppProcess.Start(app, FreePort.Next(), null, environment, [$"--Storage:Sqlite:Path={database.Path}", .. args]);
        return await RefusalOfAsync(process, $"{app} {string.Join(' ', args)}");
    }

    private async Task<string> RefusalOfAsync(AppProcess process, string started)
    {
        if (!await process.WaitForExitAsync(TimeSpan.FromSeconds(60)))
        {
            process.Kill();
        }

        var text = string.Join('\n', process.Output);
        output.WriteLine($"{started}: exit {process.ExitCode}\n{text}");
        process.ExitCode.Should().Be(1, "a refusal to start is exit code 1");
        text.Should().NotContain("   at ", "a refusal to start is a message, not a stack trace");
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        lines.Should().ContainSingle("the refusal is all the app says").Which.Should().StartWith("WonderQ ").And.Contain(" did not start: ");
        return lines[0];
    }
}

/// <summary>
/// A Linux test that needs a file this user cannot write. For root only the immutable attribute does that, and where
/// <c>chattr +i</c> fails (overlayfs, or no CAP_LINUX_IMMUTABLE) nothing stops root writing a file: there the test is
/// reported skipped rather than passed unchecked.
/// </summary>
public sealed class UnwritableFileFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> _skip = new(() =>
        !OperatingSystem.IsLinux() ? "Linux only: file modes and chattr"
        : !CanForbidWriting() ? "Running as root where chattr +i fails: nothing stops root writing a file"
        : null);

    public UnwritableFileFactAttribute() => Skip = _skip.Value;

    /// <summary>Whether <see cref="ConfigRefusalTests.ForbidWritingAsync"/> works on a file in the temp folder, as the test's is.</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private static bool CanForbidWriting()
    {
        var directory = Directory.CreateTempSubdirectory("wonderq-chattr-").FullName;
        var file = Path.Combine(directory, "probe");
        File.WriteAllBytes(file, []);
        try
        {
            var forbidden = ConfigRefusalTests.ForbidWritingAsync(file).GetAwaiter().GetResult();
            if (forbidden == true)
            {
                ConfigRefusalTests.RunAsync("chattr", "-i", file).GetAwaiter().GetResult();
            }

            return forbidden is not null;
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
