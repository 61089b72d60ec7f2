using FluentAssertions;
using Xunit.Abstractions;

namespace WonderQ.Reliability.Tests.Startup;

/// <summary>
/// Each app says at start where what it works with is: the broker its database file, which <c>dotnet run</c> and
/// <c>run.sh</c> put in different folders; the DevTool and the UserApp the broker they call.
/// </summary>
public sealed class StartupLogTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Broker_names_its_database_by_its_absolute_path_at_every_start()
    {
        using var database = new TempDatabase();
        string[] args = ["--contentRoot", database.Directory, "--Storage:Sqlite:Path=q.db", "--Logging:LogLevel:WonderQ=Information"];

        foreach (var start in new[] { "new file", "existing file" })
        {
            using var broker = AppProcess.Start("Broker", FreePort.Next(), database.Directory, args);
            await broker.WaitReadyAsync();

            await SaysAsync(broker, $"Using the database {database.Path}", start);
        }
    }

    [Theory]
    [InlineData("DevTool")]
    [InlineData("UserApp")]
    public async Task App_names_the_broker_it_calls_at_start(string app)
    {
        var brokerUrl = FreePort.Url(FreePort.Next());
        using var process = AppProcess.Start(app, FreePort.Next(), null, $"--Broker:Url={brokerUrl}", "--Logging:LogLevel:WonderQ=Information");

        await SaysAsync(process, $"Using the broker at {brokerUrl}", "at start");
    }

    [Fact]
    public async Task Broker_warns_at_start_when_waiting_consumers_could_take_every_connection()
    {
        using var database = new TempDatabase();
        using var broker = AppProcess.Start(
            "Broker", FreePort.Next(), null, $"--Storage:Sqlite:Path={database.Path}", "--Limits:MaxWaitingConsumers=100", "--Kestrel:Limits:MaxConcurrentConnections=100");
        await broker.WaitReadyAsync();

        await SaysAsync(broker, "Limits:MaxWaitingConsumers (100) is not below Kestrel:Limits:MaxConcurrentConnections (100)", "at start");
        broker.StandardOutput.Should().Contain("HTTP/2", "sharing connections is when such settings are meant");
    }

    [Fact]
    public async Task Broker_with_its_shipped_limits_does_not_warn_about_connections()
    {
        using var database = new TempDatabase();
        using var broker = AppProcess.Start(
            "Broker", FreePort.Next(), null, $"--Storage:Sqlite:Path={database.Path}", "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Information");
        await broker.WaitReadyAsync();

        // The host says it started once every service has, so what they logged at start is out by then.
        await SaysAsync(broker, "Application started", "once started");
        broker.StandardOutput.Should().NotContain("MaxConcurrentConnections");
        (await Eventually.WithinAsync(() => broker.StandardOutput.Contains("beyond this machine", StringComparison.Ordinal), TimeSpan.FromSeconds(2)))
            .Should().BeFalse("it listens on 127.0.0.1 only");
    }

    [Theory]
    [InlineData("Broker", "ASPNETCORE_URLS", "http://0.0.0.0:8080")]
    [InlineData("Broker", "ASPNETCORE_HTTP_PORTS", "8080")]
    [InlineData("DevTool", "ASPNETCORE_URLS", "http://0.0.0.0:8080")]
    [InlineData("UserApp", "ASPNETCORE_HTTP_PORTS", "8080")]
    public async Task App_warns_at_start_that_an_ASPNETCORE_listening_variable_is_not_used_where_Urls_is_set(string app, string variable, string value)
    {
        using var database = new TempDatabase();
        var environment = new Dictionary<string, string> { [variable] = value };
        string[] args = app == "Broker" ? [$"--Storage:Sqlite:Path={database.Path}"] : [];
        using var process = AppProcess.Start(app, FreePort.Next(), null, environment, args);

        await SaysAsync(process, $"{variable}={value} is not used", "at start");
        process.StandardOutput.Should().Contain("set Urls instead");
    }

    [Theory]
    [InlineData("Broker")]
    [InlineData("DevTool")]
    [InlineData("UserApp")]
    public async Task App_told_to_listen_beyond_this_machine_warns_that_it_answers_local_names_only(string app)
    {
        using var database = new TempDatabase();
        var port = FreePort.Next();
        string[] args = ["--urls", $"http://0.0.0.0:{port}", .. app == "Broker" ? [$"--Storage:Sqlite:Path={database.Path}"] : Array.Empty<string>()];
        using var process = AppProcess.Start(app, port, null, args);

        await SaysAsync(process, $"Listening on http://0.0.0.0:{port} beyond this machine, but AllowedHosts (localhost;127.0.0.1;[::1])", "at start");
        process.StandardOutput.Should().Contain("or * for any");
    }

    [Theory]
    [InlineData("--AllowedHosts=*")]
    [InlineData("--AllowedHosts=localhost;queues.example")]
    public async Task App_listening_beyond_this_machine_for_the_hosts_it_is_told_does_not_warn(string allowed)
    {
        using var database = new TempDatabase();
        var port = FreePort.Next();
        using var broker = AppProcess.Start(
            "Broker", port, null, "--urls", $"http://0.0.0.0:{port}", $"--Storage:Sqlite:Path={database.Path}", allowed,
            "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Information");

        // The host says it started before the callbacks registered ahead of its own run (they run last first).
        await SaysAsync(broker, "Application started", "once started");
        (await Eventually.WithinAsync(() => broker.StandardOutput.Contains("beyond this machine", StringComparison.Ordinal), TimeSpan.FromSeconds(2)))
            .Should().BeFalse();
    }

    /// <summary>The console logger writes from a queue of its own, so a line logged at start is given time to arrive.</summary>
    private async Task SaysAsync(AppProcess process, string line, string when)
    {
        var said = await Eventually.WithinAsync(() => process.StandardOutput.Contains(line, StringComparison.Ordinal), TimeSpan.FromSeconds(20));
        output.WriteLine($"{process.Name}, {when}:\n{process.StandardOutput}");
        said.Should().BeTrue($"{process.Name} says \"{line}\" ({when})");
    }
}
