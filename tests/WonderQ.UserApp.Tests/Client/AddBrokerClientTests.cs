using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using WonderQ.Shared.Client;
using WonderQ.UserApp.Tests.Infrastructure;

namespace WonderQ.UserApp.Tests.Client;

/// <summary>
/// AddBrokerClient called twice, as by an app that embeds the client from two of its modules: the second call adds
/// nothing, so each call goes through one pipeline, as configured, and the app still says once which broker it calls.
/// </summary>
public sealed class AddBrokerClientTests
{
    [Fact]
    public async Task A_second_call_names_the_broker_once_and_adds_no_second_pipeline()
    {
        string? via = null;
        await using var broker = await FlakyBroker.AnsweringAsync(context =>
        {
            via = context.Request.Headers.Via;
            context.Response.StatusCode = StatusCodes.Status500InternalServerError;
            return Task.CompletedTask;
        });
        var lines = new LogCollector(LogLevel.Information);
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Broker:Url"] = broker.Url.ToString(),
            ["Broker:MaxRetries"] = "1",
            ["Broker:RetryBaseDelay"] = "00:00:00.001",
        });
        builder.Logging.AddProvider(lines);
        var first = builder.Services.AddBrokerClient();
        var second = builder.Services.AddBrokerClient();
        using var host = builder.Build();

        await host.StartAsync();
        try
        {
            var act = () => host.Services.GetRequiredService<BrokerClient>().ListQueuesAsync();
            await act.Should().ThrowAsync<BrokerUnavailableException>();
        }
        finally
        {
            await host.StopAsync();
        }

        using var all = new FluentAssertions.Execution.AssertionScope();
        lines.Lines.Where(l => l.StartsWith("Using the broker at", StringComparison.Ordinal)).Should().ContainSingle();
        broker.Attempts.Should().Be(2, "one try and the one retry Broker:MaxRetries allows, not a retry pipeline inside another's");
        via.Should().NotContain(",", "the client names itself once");
        second.Should().BeSameAs(first);
    }

    /// <summary>
    /// Polly's telemetry warns of every try it retries. A broker restarting or busy for a moment is ridden out within
    /// one call's retries, and an app embedding the client, with no log settings for Polly, should not log a warning
    /// for each; the retries are there at Debug, and a call that fails for good reaches its caller.
    /// </summary>
    [Fact]
    public async Task A_busy_spell_ridden_out_by_retries_logs_no_warning_and_each_retry_at_debug()
    {
        await using var broker = await FlakyBroker.FailingThenOkAsync(StatusCodes.Status503ServiceUnavailable, failures: 3, "[]");
        var shown = new LogCollector(LogLevel.Information);
        var debug = new LogCollector(LogLevel.Debug);
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Broker:Url"] = broker.Url.ToString(),
            ["Broker:RetryBaseDelay"] = "00:00:00.001",
        });
        builder.Logging.AddProvider(shown).AddProvider(debug).SetMinimumLevel(LogLevel.Debug);
        builder.Services.AddBrokerClient();
        using var host = builder.Build();

        (await host.Services.GetRequiredService<BrokerClient>().ListQueuesAsync()).Should().BeEmpty();

        broker.Attempts.Should().Be(4);
        // HttpClient's own lines of each request are the app's to keep or not (System.Net.Http.HttpClient); Polly's are
        // the retries' telemetry.
        shown.Lines.Where(IsPolly).Should().BeEmpty("an app's log at its usual level says nothing of a spell the retries rode out");
        debug.Lines.Where(l => IsPolly(l) && l.Contains("EventName: 'OnRetry'", StringComparison.Ordinal)).Should().HaveCount(3);

        static bool IsPolly(string line) =>
            line.StartsWith("Execution attempt.", StringComparison.Ordinal) || line.StartsWith("Resilience event occurred.", StringComparison.Ordinal);
    }

    [Fact]
    public void A_second_call_with_handlers_of_its_own_says_they_would_not_be_outside_the_pipeline()
    {
        var services = new ServiceCollection();
        services.AddBrokerClient();

        var act = () => services.AddBrokerClient(client => client.AddHttpMessageHandler(() => new PassingHandler()));

        act.Should().Throw<InvalidOperationException>().WithMessage("*AddBrokerClient*first*");
    }

    private sealed class PassingHandler : DelegatingHandler;
}
