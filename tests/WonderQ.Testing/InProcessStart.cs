using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace WonderQ.Testing;

/// <summary>
/// An app that refuses to start inside a WebApplicationFactory says why in one line on stderr and returns 1 from its
/// entry point (WebConventions.Run), which the factory takes for an entry point that simply ended: the test then fails
/// at its first request with TestServer's "The server has not been started", and the line is lost with the test
/// host's stderr. A factory that creates its host through <see cref="Start"/> fails there instead, with the line.
/// </summary>
/// <remarks>
/// The entry point is not done once the host has started: it runs on, on a thread of its own, in <c>app.Run()</c>, and
/// when the factory stops the host that run stops it too and disposes it, the broker's lock on its file with it. The
/// service provider lets only its first disposal do the work, so when the app's own came first the factory's returned
/// at once, and a second broker started on the file right after found it still locked. The host <see cref="Start"/>
/// returns stops only once the entry point has returned, so a disposed factory has let go of all the app held.
/// </remarks>
public static class InProcessStart
{
    private const string Refusal = " did not start: ";
    private static readonly ConcurrentQueue<string> _refusals = new();
    private static readonly Lock _watchLock = new();
    private static bool _watching;

    /// <summary>
    /// A factory's CreateHost: <paramref name="createHost"/> (the base one, which runs the app's entry point) with the
    /// refusal lines written meanwhile kept, and the host returned only once it has started.
    /// </summary>
    public static IHost Start(IHostBuilder builder, Func<IHostBuilder, IHost> createHost)
    {
        lock (_watchLock)
        {
            if (!_watching)
            {
                Console.SetError(TextWriter.Synchronized(new RefusalWatcher(Console.Error)));
                _watching = true;
            }
        }

        // The entry point builds the host, and its service configuration runs there, on the entry point's thread.
        Thread? entryPoint = null;
        builder.ConfigureServices(_ => entryPoint = Thread.CurrentThread);
        var host = createHost(builder);
        try
        {
            if (host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStarted.IsCancellationRequested)
            {
                return entryPoint is null || entryPoint == Thread.CurrentThread || entryPoint.IsThreadPoolThread
                    ? host
                    : new EntryPointHost(host, entryPoint);
            }
        }
        catch (ObjectDisposedException)
        {
            // Its entry point has already disposed it on the way out.
        }

        // Tests run in parallel, so a line may be another test's own refusal; this app's is among them.
        var lines = _refusals.ToArray();
        throw new InvalidOperationException(lines is []
            ? "The app's entry point returned without starting it, and wrote no refusal line."
            : $"The app's entry point returned without starting it. Refusals written in this test run:\n{string.Join('\n', lines)}");
    }

    /// <summary>
    /// The factory's host, whose stop also waits for the entry point to return: the factory disposes the host right
    /// after it stops it, and that disposal returns at once when the entry point's own is under way. Waited for here,
    /// not in the disposal, as the factory disposes synchronously, where blocking could hold up a thread the entry
    /// point's shutdown needs (its continuations run inline, on the thread that finished what they waited for).
    /// </summary>
    private sealed class EntryPointHost(IHost host, Thread entryPoint) : IHost, IAsyncDisposable
    {
        /// <summary>As long as a stop may take (HostOptions.ShutdownTimeout, 30 s by default), and then some.</summary>
        private static readonly TimeSpan _exitDeadline = TimeSpan.FromSeconds(60);

        public IServiceProvider Services => host.Services;

        public Task StartAsync(CancellationToken cancellationToken = default) => host.StartAsync(cancellationToken);

        public async Task StopAsync(CancellationToken cancellationToken = default)
        {
            await host.StopAsync(cancellationToken);
            var exited = await Task.Factory.StartNew(
                () => entryPoint.Join(_exitDeadline), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            if (!exited)
            {
                throw new InvalidOperationException($"The app's entry point had not returned {_exitDeadline.TotalSeconds:0} s after its host stopped.");
            }
        }

        public void Dispose() => host.Dispose();

        public async ValueTask DisposeAsync()
        {
            if (host is IAsyncDisposable disposable)
            {
                await disposable.DisposeAsync();
            }
            else
            {
                host.Dispose();
            }
        }
    }

    private sealed class RefusalWatcher(TextWriter inner) : TextWriter
    {
        private readonly StringBuilder _line = new();

        public override Encoding Encoding => inner.Encoding;

        public override void Write(char value)
        {
            inner.Write(value);
            if (value != '\n')
            {
                _line.Append(value);
                return;
            }

            if (_line.ToString() is var line && line.Contains(Refusal, StringComparison.Ordinal))
            {
                _refusals.Enqueue(line.TrimEnd('\r'));
            }

            _line.Clear();
        }

        public override void Flush() => inner.Flush();
    }
}
