using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using WonderQ.Broker.Storage.Sqlite;

namespace WonderQ.Broker.Tests.Storage;

/// <summary>The writer's log of failed commits, driven directly.</summary>
public sealed class CommitFailureLogTests
{
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.Parse("2026-12-01T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private const string Database = "/var/lib/wonderq/q.db";

    private readonly Lines _log = new();

    [Fact]
    public void A_failure_logged_in_full_names_the_database_whose_disk_is_full()
    {
        var log = new CommitFailureLog(_log, _clock, TimeSpan.FromSeconds(10), Database);
        var full = new SqliteException("database or disk is full", 13, 13);

        log.Failed(CommitFailure.Of(full), full, 1);

        _log.Entries.Should().ContainSingle().Which.Message.Should().Contain("The broker's disk is full")
            .And.Contain($"The database is {Database}.", "the operator frees space on the disk that holds it");
    }

    [Fact]
    public void Two_kinds_of_failure_taking_turns_log_one_stack_trace_each_not_one_per_batch()
    {
        // On a full disk a batch that syncs can fail in its fsync (an I/O error) while the next, unsynced, fails to
        // write (SQLITE_FULL): the kinds take turns for as long as the disk stays full.
        var log = new CommitFailureLog(_log, _clock, TimeSpan.FromSeconds(10), Database);
        for (var i = 0; i < 20; i++)
        {
            var exception = i % 2 == 0 ? new SqliteException("database or disk is full", 13, 13) : new SqliteException("disk I/O error", 10, 1034);
            log.Failed(CommitFailure.Of(exception), exception, 3);
        }

        _log.Entries.Where(e => e.Exception is not null).Should().HaveCount(2, "each kind's stack trace is logged once");
        _log.Entries.Should().HaveCount(2, "the repeats of either are counted within the interval");

        _clock.Advance(TimeSpan.FromSeconds(11));
        var full = new SqliteException("database or disk is full", 13, 13);
        log.Failed(CommitFailure.Of(full), full, 3);

        _log.Entries.Should().HaveCount(3);
        _log.Entries[^1].Exception.Should().BeNull();
        _log.Entries[^1].Message.Should().Contain("19 more write batches failed").And.Contain("disk full").And.Contain("disk I/O error");

        log.Succeeded(wrote: true);
        _log.Entries[^1].Message.Should().Contain("Commits succeed again after 21 failed batches");
    }

    [Fact]
    public void A_kind_not_seen_in_this_outage_is_logged_in_full_even_when_another_repeats()
    {
        var log = new CommitFailureLog(_log, _clock, TimeSpan.FromSeconds(10), Database);
        var full = new SqliteException("database or disk is full", 13, 13);
        log.Failed(CommitFailure.Of(full), full, 1);
        log.Failed(CommitFailure.Of(full), full, 1);
        var corrupt = new SqliteException("database disk image is malformed", 11, 11);
        log.Failed(CommitFailure.Of(corrupt), corrupt, 1);

        _log.Entries.Where(e => e.Exception is not null).Should().HaveCount(2);
        _log.Entries[^1].Exception.Should().BeSameAs(corrupt);
    }

    [Fact]
    public void Repeats_are_said_once_the_interval_has_passed_even_if_the_wall_clock_stepped_back_meanwhile()
    {
        var clock = new SteppingClock();
        var log = new CommitFailureLog(_log, clock, TimeSpan.FromSeconds(10), Database);
        var full = new SqliteException("database or disk is full", 13, 13);
        log.Failed(CommitFailure.Of(full), full, 1);
        log.Failed(CommitFailure.Of(full), full, 1);

        clock.StepBack(TimeSpan.FromHours(1));
        clock.Advance(TimeSpan.FromSeconds(11));
        log.Failed(CommitFailure.Of(full), full, 1);

        _log.Entries.Should().HaveCount(2, "an interval is time elapsed, not a reading of the wall clock");
        _log.Entries[^1].Message.Should().Contain("2 more write batches failed");
    }

    [Fact]
    public void A_count_of_one_reads_as_one()
    {
        var log = new CommitFailureLog(_log, _clock, TimeSpan.FromSeconds(10), Database);
        var full = new SqliteException("database or disk is full", 13, 13);
        log.Failed(CommitFailure.Of(full), full, 1);
        _clock.Advance(TimeSpan.FromSeconds(11));
        log.Failed(CommitFailure.Of(full), full, 1);
        log.Succeeded(wrote: true);
        _clock.Advance(TimeSpan.FromMinutes(1));
        log.Failed(CommitFailure.Of(full), full, 2);
        log.Succeeded(wrote: true);

        _log.Entries.Select(e => e.Message).Should().SatisfyRespectively(
            first => first.Should().StartWith("A write batch of 1 operation failed and was rolled back"),
            repeats => repeats.Should().StartWith("1 more write batch failed and was rolled back ("),
            recovered => recovered.Should().StartWith("Commits succeed again after 2 failed batches"),
            again => again.Should().StartWith("A write batch of 2 operations failed"),
            recoveredAgain => recoveredAgain.Should().StartWith("Commits succeed again after 1 failed batch ("));
    }

    private sealed record Entry(LogLevel Level, string Message, Exception? Exception);

    private sealed class Lines : ILogger
    {
        public List<Entry> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Add(new Entry(logLevel, formatter(state, exception), exception));
    }
}
