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
