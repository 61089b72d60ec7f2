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

        var host = createHost(builder);
        try
        {
            if (host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStarted.IsCancellationRequested)
            {
                return host;
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
