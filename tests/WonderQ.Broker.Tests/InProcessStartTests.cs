using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace WonderQ.Broker.Tests;

/// <summary>
/// A broker that refuses to start in process fails the test where it is created, with the line it would have said on
/// stderr: not at its first request with TestServer's "The server has not been started", which names no reason.
/// </summary>
public sealed class InProcessStartTests
{
    [Fact]
    public async Task A_broker_refusing_to_start_in_process_fails_with_its_refusal_line()
    {
        await using var broker = new BrokerApplication(settings: new Dictionary<string, string> { ["Storage:Sqlite:PurgeBatchBytes"] = "0" });

        var create = () => broker.CreateClient();

        create.Should().Throw<InvalidOperationException>()
            .WithMessage("*WonderQ broker did not start: Storage:Sqlite:PurgeBatchBytes must be from 1 to 1073741824.*");
    }

    /// <summary>
    /// The factory's stop also stops the app's own run (<c>app.Run()</c>, on the entry point's thread), which then
    /// disposes the host itself; when that disposal comes first, the factory's finds it under way and returns at once.
    /// Here the app's own disposal is made to come first and held, as a busy machine can: a second broker on the file
    /// starts all the same, once DisposeAsync has returned.
    /// </summary>
    [Fact]
    public async Task A_broker_disposed_in_process_has_let_go_of_its_file_though_its_own_run_disposed_it()
    {
        using var database = new TempDatabase();
        var hold = new ShutdownHold();
        await using var broker = new BrokerApplication(database.Path);
        var first = broker.WithWebHostBuilder(builder => builder.ConfigureTestServices(services => services.AddHostedService(_ => hold)));
        first.CreateClient().Dispose();

        ShutdownHold.ByTheFactory.Value = true;
        await first.DisposeAsync();
        ShutdownHold.ByTheFactory.Value = false;
        await using var second = new BrokerApplication(database.Path);
        var start = () => second.CreateClient().Dispose();

        try
        {
            start.Should().NotThrow("the first broker was disposed");
        }
        finally
        {
            hold.SecondStarted.Set();
        }
    }

    /// <summary>
    /// Holds the factory's stop until the app's own run has begun disposing the host, and that disposal (before the
    /// database's, which was created first) until the second broker has tried to start, or for 2 s: with the factory
    /// waiting for it, nothing tries.
    /// </summary>
    private sealed class ShutdownHold : IHostedService, IDisposable
    {
        /// <summary>Set in the test's own flow, around the factory's DisposeAsync; the app's run flows from its own thread.</summary>
        public static readonly AsyncLocal<bool> ByTheFactory = new();

        private readonly TaskCompletionSource _disposing = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ManualResetEventSlim SecondStarted { get; } = new();

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) =>
            ByTheFactory.Value ? _disposing.Task.WaitAsync(cancellationToken) : Task.CompletedTask;

        public void Dispose()
        {
            _disposing.TrySetResult();
            SecondStarted.Wait(TimeSpan.FromSeconds(2));
        }
    }
}
