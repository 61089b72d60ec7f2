using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Options;

namespace WonderQ.Reliability.Tests.Startup;

/// <summary>
/// Each range the README's "Configuration" tables state is the one the app holds to at start: both ends start it, and
/// one step beyond either is refused in the words that name the key, and in those alone. A range the app held to
/// differently from what the README said would stop an operator who kept within it, or start one who did not.
/// </summary>
public sealed class SettingRangeTests
{
    /// <param name="also">Settings the ends need beside them, ';'-separated (a larger limit for a larger default).</param>
    [Theory]
    [InlineData("Broker", "Outages:LogInterval", "00:00:00", "01:00:00", "-00:00:00.001", "01:00:00.001", "")]
    [InlineData("UserApp", "Outages:RetryAfterSeconds", "1", "3600", "0", "3601", "")]
    [InlineData("Broker", "Memory:IdleCollectAfter", "00:00:01", "1.00:00:00", "00:00:00.999", "1.00:00:00.001", "")]
    [InlineData("Broker", "Memory:IdleCollectAfter", "00:00:00", "00:00:01", "-00:00:00.001", "00:00:00.500", "")]
    [InlineData("Broker", "Memory:IdleCollectMinBytes", "0", "1099511627776", "-1", "1099511627777", "")]
    [InlineData("Broker", "Storage:Sqlite:MaxBatchOperations", "1", "100000", "0", "100001", "Storage:Sqlite:MaxPendingOperations=100000")]
    [InlineData("Broker", "Storage:Sqlite:MaxPendingOperations", "512", "1048576", "511", "1048577", "")]
    [InlineData("Broker", "Storage:Sqlite:WalSizeLimitBytes", "0", "4294967296", "-1", "4294967297", "")]
    [InlineData("Broker", "Storage:Sqlite:BusyTimeout", "00:00:00.001", "00:05:00", "00:00:00", "00:05:00.001", "")]
    [InlineData("Broker", "Storage:Sqlite:PurgeBatchSize", "1", "100000", "0", "100001", "")]
    [InlineData("Broker", "Storage:Sqlite:PurgeBatchBytes", "1", "1073741824", "0", "1073741825", "")]
    [InlineData("Broker", "Storage:Sqlite:PurgeIntervalUnderLoad", "00:00:00.001", "00:01:00", "00:00:00", "00:01:00.001", "")]
    // The broker on a PostgreSQL schema of its own, where these settings are read.
    [InlineData("Postgres", "Storage:Postgres:NotificationCheckInterval", "00:00:01", "01:00:00", "00:00:00.999", "01:00:00.001", "")]
    [InlineData("Postgres", "Storage:Postgres:NotificationCheckTimeoutSeconds", "1", "300", "0", "301", "")]
    [InlineData("Postgres", "Storage:Postgres:NotificationRetryInterval", "00:00:00.010", "00:05:00", "00:00:00.009", "00:05:00.001", "")]
    [InlineData("Postgres", "Storage:Postgres:FinalNotificationTimeout", "00:00:00", "00:01:00", "-00:00:00.001", "00:01:00.001", "shutdownTimeoutSeconds=90")]
    [InlineData("Postgres", "Storage:Postgres:FinalNotificationTimeout", "00:00:00", "00:00:07.999", "-00:00:00.001", "00:00:08", "shutdownTimeoutSeconds=8")]
    [InlineData("Postgres", "Storage:Postgres:EmptyLookLifetime", "00:00:00", "00:01:00", "-00:00:00.001", "00:01:00.001", "")]
    [InlineData("Postgres", "Storage:Postgres:MaxBatchSends", "1", "10000", "0", "10001", "")]
    [InlineData("Postgres", "Storage:Postgres:MaxBatchSendBytes", "1024", "268435456", "1023", "268435457", "")]
    [InlineData("Postgres", "Storage:Postgres:MaxBatchDeletes", "1", "10000", "0", "10001", "")]
    [InlineData("Broker", "Limits:MaxQueueNameLength", "1", "1024", "0", "1025", "")]
    [InlineData("Broker", "Limits:MaxMessageBytes", "1", "67108864", "0", "67108865", "Limits:MaxRequestBodyBytes=67108864")]
    [InlineData("Broker", "Limits:MaxRequestBodyBytes", "1024", "536870912", "1023", "536870913", "Limits:MaxMessageBytes=1024")]
    [InlineData("Broker", "Limits:MaxBatchSize", "1", "10000", "0", "10001", "Limits:DefaultPeekSize=1")]
    [InlineData("Broker", "Limits:MaxBatchBytes", "1024", "1073741824", "1023", "1073741825", "")]
    [InlineData("Broker", "Limits:MaxWaitTimeSeconds", "0", "3600", "-1", "3601", "Limits:DefaultWaitTimeSeconds=0")]
    [InlineData("Broker", "Limits:MaxVisibilityTimeoutSeconds", "0", "604800", "-1", "604801", "Limits:DefaultVisibilityTimeoutSeconds=0")]
    [InlineData("Broker", "Limits:MaxWaitingConsumers", "1", "1000000", "0", "1000001", "")]
    [InlineData("Broker", "Limits:MaxQueues", "1", "1000000", "0", "1000001", "")]
    [InlineData("Broker", "Limits:DefaultConsumeSize", "1", "10000", "0", "10001", "Limits:MaxBatchSize=10000")]
    [InlineData("Broker", "Limits:DefaultWaitTimeSeconds", "0", "3600", "-1", "3601", "Limits:MaxWaitTimeSeconds=3600")]
    [InlineData("Broker", "Limits:DefaultVisibilityTimeoutSeconds", "0", "604800", "-1", "604801", "Limits:MaxVisibilityTimeoutSeconds=604800")]
    [InlineData("DevTool", "Limits:DefaultPeekSize", "1", "10000", "0", "10001", "Limits:MaxBatchSize=10000")]
    [InlineData("UserApp", "Broker:AttemptTimeout", "00:00:00.001", "00:10:00", "00:00:00", "00:10:00.001", "Broker:TotalTimeout=00:10:00")]
    [InlineData("DevTool", "Broker:TotalTimeout", "00:00:03", "01:00:00", "00:00:02.999", "01:00:00.001", "")]
    [InlineData("UserApp", "Broker:MaxRetries", "0", "20", "-1", "21", "")]
    [InlineData("DevTool", "Broker:RetryBaseDelay", "00:00:00", "00:01:00", "-00:00:00.001", "00:01:00.001", "")]
    [InlineData("UserApp", "Broker:RetryMaxDelay", "00:00:00.001", "00:05:00", "00:00:00", "00:05:00.001", "")]
    [InlineData("UserApp", "Broker:StopGrace", "00:00:00", "00:00:20", "-00:00:00.001", "00:00:20.001", "")]
    // Less than the host's shutdown timeout, which would cut the requests short without their answer.
    [InlineData("DevTool", "Broker:StopGrace", "00:00:00", "00:00:07.999", "-00:00:00.001", "00:00:08", "shutdownTimeoutSeconds=8")]
    [InlineData("UserApp", "Broker:StopGrace", "00:00:00", "00:00:07.999", "-00:00:00.001", "00:00:08", "shutdownTimeoutSeconds=8")]
    [InlineData("UserApp", "UserApp:DispatchParallelism", "1", "256", "0", "257", "")]
    [InlineData("UserApp", "UserApp:MaxStub", "1", "1000000", "0", "1000001", "UserApp:MaxDispatchingMessages=1000000")]
    [InlineData("UserApp", "UserApp:MaxListeners", "1", "10000", "0", "10001", "")]
    [InlineData("UserApp", "UserApp:MaxDispatchingMessages", "1", "100000000", "0", "100000001", "UserApp:MaxStub=1")]
    [InlineData("UserApp", "UserApp:ListenerSize", "1", "10000", "0", "10001", "Limits:MaxBatchSize=10000")]
    [InlineData("UserApp", "UserApp:ListenerWaitTimeSeconds", "0", "3600", "-1", "3601", "Limits:MaxWaitTimeSeconds=3600")]
    [InlineData("UserApp", "UserApp:ListenerVisibilityTimeoutSeconds", "0", "604800", "-1", "604801", "Limits:MaxVisibilityTimeoutSeconds=604800")]
    [InlineData("UserApp", "UserApp:ListenerInitialBackoff", "00:00:00.001", "00:10:00", "00:00:00", "00:10:00.001", "UserApp:ListenerMaxBackoff=00:10:00")]
    [InlineData("UserApp", "UserApp:ListenerMaxBackoff", "00:00:01", "01:00:00", "00:00:00.999", "01:00:00.001", "")]
    [InlineData("UserApp", "UserApp:ListenerIdleDelay", "00:00:00.001", "00:10:00", "00:00:00", "00:10:00.001", "")]
    // The host's shutdown timeout made longer, as the README says a grace of a minute needs.
    [InlineData("UserApp", "UserApp:ListenerStopGrace", "00:00:00", "00:01:00", "-00:00:00.001", "00:01:00.001", "shutdownTimeoutSeconds=90")]
    [InlineData("DevTool", "Dashboard:RefreshInterval", "00:00:00.100", "00:01:00", "00:00:00.099", "00:01:00.001", "Dashboard:StaleAfter=00:01:01")]
    [InlineData("DevTool", "Dashboard:StaleAfter", "00:00:01.001", "01:00:00", "00:00:01", "01:00:00.001", "")]
    [InlineData("DevTool", "Dashboard:PreviewCharacters", "100", "1000000", "99", "1000001", "")]
    [InlineData("DevTool", "Dashboard:MaxQueueRows", "10", "100000", "9", "100001", "")]
    [InlineData("DevTool", "Dashboard:MaxConcurrentPeeks", "1", "1000", "0", "1001", "")]
    public async Task Both_ends_of_the_README_s_range_start_the_app_and_one_step_beyond_is_refused_naming_the_key(
        string app, string key, string lowest, string highest, string below, string above, string also)
    {
        string[] others = [.. also.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(setting => $"--{setting}")];

        foreach (var value in (string[])[lowest, highest])
        {
            var start = () => StartAsync(app, [.. others, $"--{key}={value}"]);
            await start.Should().NotThrowAsync($"{key}={value} is within the README's range");
        }

        foreach (var value in (string[])[below, above])
        {
            var start = () => StartAsync(app, [.. others, $"--{key}={value}"]);
            (await start.Should().ThrowAsync<OptionsValidationException>($"{key}={value} is beyond the README's range"))
                .Which.Failures.Should().ContainSingle().Which.Should().StartWith($"{key} ");
        }
    }

    private static async Task StartAsync(string app, string[] args)
    {
        Func<string[], WebApplication> create = app switch
        {
            "DevTool" => WonderQ.DevTool.Program.CreateApp,
            "UserApp" => WonderQ.UserApp.Program.CreateApp,
            _ => WonderQ.Broker.Program.CreateApp,
        };
        if (app == "Postgres")
        {
            app = "Broker";
            args = ["--Storage:Provider=postgres", $"--Storage:Postgres:ConnectionString={PostgresServer.CreateSchema()}", .. args];
        }

        using var database = new TempDatabase();
        await using var started = create(
            ["--contentRoot", Path.Combine(RepoPaths.Root, app), "--urls", "http://127.0.0.1:0", $"--Storage:Sqlite:Path={database.Path}", .. args]);
        await started.StartAsync();
        await started.StopAsync();
    }
}
