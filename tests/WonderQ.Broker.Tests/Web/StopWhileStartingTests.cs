using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using WonderQ.Broker.Tests.Storage;
using WonderQ.Shared.Web;

namespace WonderQ.Broker.Tests.Web;

/// <summary>
/// An app asked to stop before it has started (run.sh stopping the others when one refuses, or Ctrl-C at once): the
/// host cancels its start and throws, which ended the app with an unhandled exception, its stack trace and exit code
/// 134 (abort).
/// </summary>
public sealed class StopWhileStartingTests
{
    [Fact]
    public void An_app_stopped_while_it_starts_ends_as_a_stop_with_exit_code_0_and_no_stack_trace_in_its_log()
    {
        var hostLog = new CommitWriterLog(typeof(HostBuilder).Assembly.GetType("Microsoft.Extensions.Hosting.Internal.Host"));
        var code = WebConventions.Run("test app", () =>
        {
            var builder = WebApplication.CreateSlimBuilder(["--urls", "http://127.0.0.1:0"]);
            builder.Services.AddWonderQConventions();
            builder.Services.AddHostedService<StopsWhileStarting>();
            builder.Logging.AddProvider(hostLog);
            return builder.Build();
        });

        code.Should().Be(0);
        // The host logs a start that threw as "Hosting failed to start", with the exception.
        hostLog.Entries.Should().NotContain(entry => entry.Exception != null);
    }

    /// <summary>The stop signal arriving while a service still starts, as the broker's Kestrel still binds.</summary>
    private sealed class StopsWhileStarting(IHostApplicationLifetime lifetime) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            lifetime.StopApplication();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
