using System.Net;
using FluentAssertions;
using Xunit.Abstractions;

namespace WonderQ.Reliability.Tests.Startup;

/// <summary>
/// A broker dll started from another folder without <c>--contentRoot</c> finds no appsettings.json in its content root.
/// It reads the one shipped beside it rather than run on the framework's bare defaults (port 5000, every <c>Host</c>
/// answered); with none there either, the operator is told so at start instead of being left to wonder why.
/// </summary>
public sealed class MissingSettingsTests(ITestOutputHelper output)
{
    private const string Missing = "No appsettings.json in the content root";

    [Fact]
    public async Task Broker_started_outside_its_folder_reads_the_settings_shipped_beside_it()
    {
        using var database = new TempDatabase();

        using var broker = await StartAsync(RepoPaths.AppDll("Broker"), database);
        await Eventually.WithinAsync(() => broker.StandardOutput.Contains(Missing, StringComparison.Ordinal), TimeSpan.FromSeconds(10));

        broker.StandardOutput.Should().Contain($"read the one beside the app, {Path.Combine(RepoPaths.BrokerDirectory, "appsettings.json")}")
            .And.NotContain("nor beside the app");
        using var http = broker.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/queues") { Headers = { Host = "rebinding.example" } };
        using var response = await http.SendAsync(request);
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest, "the shipped AllowedHosts answers only this machine's names");
    }

    [Fact]
    public async Task Broker_without_appsettings_json_beside_it_either_warns_that_it_runs_on_the_framework_s_defaults()
    {
        using var database = new TempDatabase();
        var copy = Directory.CreateTempSubdirectory("wonderq-broker-copy-");
        try
        {
            foreach (var file in Directory.EnumerateFiles(RepoPaths.BrokerDirectory, "*", SearchOption.AllDirectories)
                         .Where(f => !Path.GetFileName(f).StartsWith("appsettings", StringComparison.Ordinal)))
            {
                var target = Path.Combine(copy.FullName, Path.GetRelativePath(RepoPaths.BrokerDirectory, file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }

            using var broker = await StartAsync(Path.Combine(copy.FullName, "WonderQ.Broker.dll"), database);
            await Eventually.WithinAsync(() => broker.StandardOutput.Contains(Missing, StringComparison.Ordinal), TimeSpan.FromSeconds(10));

            broker.StandardOutput.Should().Contain("nor beside the app").And.Contain(database.Directory, "the warning names the folder it looked in");
        }
        finally
        {
            copy.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Broker_started_in_its_folder_says_nothing_of_its_settings_file()
    {
        using var database = new TempDatabase();
        using var broker = AppProcess.Start(
            "Broker",
            FreePort.Next(),
            RepoPaths.BrokerDirectory,
            $"--Storage:Sqlite:Path={database.Path}",
            "--Logging:LogLevel:WonderQ=Information",
            "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Information");
        await broker.WaitReadyAsync();

        // The console logger writes its queue in order, and the settings are looked at before the host starts: once
        // "Application started" is out, a warning about them would be too. Without it, the NotContain below proves nothing.
        var started = await Eventually.WithinAsync(() => broker.StandardOutput.Contains("Application started", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        output.WriteLine(broker.StandardOutput);
        started.Should().BeTrue("the host's own line at start shows that what was logged before it is out");
        broker.StandardOutput.Should().NotContain(Missing);
    }

    [Fact]
    public async Task Broker_with_an_appsettings_json_of_its_own_that_sets_no_AllowedHosts_warns_that_it_answers_every_name()
    {
        using var database = new TempDatabase();
        // An operator's file with only what they change: it replaces the shipped one, AllowedHosts and Kestrel:Limits with it.
        await File.WriteAllTextAsync(Path.Combine(database.Directory, "appsettings.json"), """{ "Storage": { "Sqlite": { "Synchronous": "FULL" } } }""");

        using var broker = await StartAsync(RepoPaths.AppDll("Broker"), database);
        var warned = await Eventually.WithinAsync(
            () => broker.StandardOutput.Contains("sets no AllowedHosts, Kestrel:Limits,", StringComparison.Ordinal), TimeSpan.FromSeconds(10));

        output.WriteLine(broker.StandardOutput);
        warned.Should().BeTrue("Urls and Logging:LogLevel come from the command line, the other two from nowhere");
        broker.StandardOutput.Should().Contain(database.Directory, "the warning names the file's folder")
            .And.Contain("start from a copy of the shipped appsettings.json");
    }

    /// <summary>The broker at <paramref name="dll"/>, started in the database's folder (which has no appsettings.json), once healthy.</summary>
    private async Task<AppProcess> StartAsync(string dll, TempDatabase database)
    {
        var broker = AppProcess.StartDll(
            "Broker", dll, FreePort.Next(), database.Directory, $"--Storage:Sqlite:Path={database.Path}", "--Logging:LogLevel:WonderQ=Information");
        try
        {
            await broker.WaitReadyAsync();
            return broker;
        }
        catch
        {
            output.WriteLine(broker.StandardOutput);
            broker.Dispose();
            throw;
        }
    }
}
