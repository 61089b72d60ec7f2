using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using WonderQ.Broker.Infrastructure;
using WonderQ.Broker.Storage;
using WonderQ.Shared.Web;

namespace WonderQ.Broker.Tests.Problems;

/// <summary>
/// Every 503 is answered, but logged at most once per <c>Outages:LogInterval</c> (10 s by default) with a count
/// of the rest: a dashboard polling a broker that is down would otherwise write a warning a second for as long as the
/// outage lasts.
/// </summary>
public sealed class OutageLogTests : IDisposable
{
    private readonly FakeTimeProvider _clock = new(BrokerApplication.StartTime);
    private readonly CollectingLogger _log = new();
    private readonly ServiceProvider _services = new ServiceCollection().AddLogging().AddProblemDetails().BuildServiceProvider();

    public void Dispose() => _services.Dispose();

    [Fact]
    public async Task Outages_are_answered_each_time_and_logged_once_per_interval_with_a_count_of_the_rest()
    {
        var handler = Handler(new OutageOptions());

        var statuses = new List<int>();
        for (var i = 0; i < 5; i++)
        {
            statuses.Add(await AnswerAsync(handler));
            _clock.Advance(TimeSpan.FromSeconds(1));
        }

        _clock.Advance(TimeSpan.FromSeconds(5));
        statuses.Add(await AnswerAsync(handler));

        statuses.Should().AllBeEquivalentTo(StatusCodes.Status503ServiceUnavailable);
        _log.Warnings.Should().HaveCount(2);
        _log.Warnings[0].Should().NotContain("more such answers", "the first line has no line before it to count from");
        _log.Warnings[1].Should().Contain("(4 more such answers");
    }

    [Theory]
    [InlineData(0, "")]
    [InlineData(1, " (1 more such answer since the last of these lines)")]
    [InlineData(2, " (2 more such answers since the last of these lines)")]
    public async Task A_line_after_an_interval_counts_the_answers_not_logged_in_words_that_fit_the_count(int counted, string said)
    {
        var handler = Handler(new OutageOptions());
        await AnswerAsync(handler);
        for (var i = 0; i < counted; i++)
        {
            await AnswerAsync(handler);
        }

        _clock.Advance(TimeSpan.FromSeconds(10));
        await AnswerAsync(handler);

        _log.Warnings.Should().HaveCount(2);
        _log.Warnings[1].Should().EndWith($": The store is down.{said}");
    }

    [Theory]
    [InlineData(0, 6)]
    [InlineData(3, 2)]
    [InlineData(60, 1)]
    public async Task The_interval_is_the_configured_one(int seconds, int lines)
    {
        var handler = Handler(new OutageOptions { LogInterval = TimeSpan.FromSeconds(seconds) });

        for (var i = 0; i < 6; i++)
        {
            await AnswerAsync(handler);
            _clock.Advance(TimeSpan.FromSeconds(1));
        }

        _log.Warnings.Should().HaveCount(lines);
    }

    [Theory]
    [InlineData(true, 0)]
    [InlineData(false, 3)]
    public async Task An_outage_an_app_logs_itself_is_answered_but_left_to_that_log(bool logsItself, int lines)
    {
        var handler = Handler(new OutageOptions { LogInterval = TimeSpan.Zero }, new FailureLog(logsItself));

        var statuses = new List<int>();
        for (var i = 0; i < 3; i++)
        {
            statuses.Add(await AnswerAsync(handler));
        }

        statuses.Should().AllBeEquivalentTo(StatusCodes.Status503ServiceUnavailable);
        _log.Warnings.Should().HaveCount(lines);
    }

    private ProblemExceptionHandler Handler(OutageOptions outages, params IFailureLog[] failureLogs) => new(
        _services.GetRequiredService<IProblemDetailsService>(),
        [new StoreProblemMapper()],
        failureLogs,
        Options.Create(outages),
        _clock,
        _log);

    [Theory]
    [InlineData(null, "1")]
    [InlineData(30, "30")]
    public async Task A_503_tells_the_client_when_to_try_again(int? configured, string retryAfter)
    {
        var handler = Handler(configured is { } seconds ? new OutageOptions { RetryAfterSeconds = seconds } : new OutageOptions());

        var context = await AnswerInAsync(handler);

        context.Response.StatusCode.Should().Be(StatusCodes.Status503ServiceUnavailable);
        context.Response.Headers.RetryAfter.ToString().Should().Be(retryAfter);
    }

    private async Task<int> AnswerAsync(ProblemExceptionHandler handler) => (await AnswerInAsync(handler)).Response.StatusCode;

    private async Task<HttpContext> AnswerInAsync(ProblemExceptionHandler handler)
    {
        var context = new DefaultHttpContext { RequestServices = _services };
        context.Response.Body = new MemoryStream();
        (await handler.TryHandleAsync(context, new StoreUnavailableException("The store is down."), CancellationToken.None)).Should().BeTrue();
        return context;
    }

    private sealed class FailureLog(bool logsItself) : IFailureLog
    {
        public bool Logs(Exception exception) => logsItself && exception is StoreUnavailableException;
    }

    private sealed class CollectingLogger : ILogger<ProblemExceptionHandler>
    {
        private readonly List<string> _warnings = [];

        public IReadOnlyList<string> Warnings => _warnings;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == LogLevel.Warning)
            {
                _warnings.Add(formatter(state, exception));
            }
        }
    }
}
