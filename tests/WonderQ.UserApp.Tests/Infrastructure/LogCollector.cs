using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace WonderQ.UserApp.Tests.Infrastructure;

/// <summary>The app's log lines at warning and above, for tests that assert what an operator is told.</summary>
/// <param name="minimum">The least level kept, for a test that reads the information lines too.</param>
public sealed class LogCollector(LogLevel minimum = LogLevel.Warning) : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly ConcurrentQueue<Exception> _exceptions = new();

    /// <summary>The lines at the least level kept and above (warnings, unless a test asked for more).</summary>
    public IReadOnlyList<string> Lines => [.. _lines];

    /// <summary>The exceptions logged with those lines, whose text a console log writes after them.</summary>
    public IReadOnlyList<Exception> Exceptions => [.. _exceptions];

    private LogLevel Minimum => minimum;

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(LogCollector collector) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= collector.Minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                collector._lines.Enqueue(formatter(state, exception));
                if (exception is not null)
                {
                    collector._exceptions.Enqueue(exception);
                }
            }
        }
    }
}
