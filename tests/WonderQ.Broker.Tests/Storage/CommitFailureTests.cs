using Microsoft.Data.Sqlite;
using WonderQ.Broker.Storage.Sqlite;

namespace WonderQ.Broker.Tests.Storage;

/// <summary>What a client is told when a commit fails, by what SQLite said.</summary>
public sealed class CommitFailureTests
{
    [Theory]
    [InlineData(13, 13, "disk is full")] // SQLITE_FULL
    [InlineData(10, 10, "I/O error")] // SQLITE_IOERR
    [InlineData(10, 778, "I/O error")] // SQLITE_IOERR_WRITE
    [InlineData(10, 1034, "I/O error")] // SQLITE_IOERR_FSYNC
    [InlineData(8, 8, "database has become read-only")] // SQLITE_READONLY
    [InlineData(5, 5, "locked by another program")] // SQLITE_BUSY
    [InlineData(5, 261, "locked by another program")] // SQLITE_BUSY_RECOVERY: another process recovering the log
    [InlineData(8, 1288, "database has become read-only")] // SQLITE_READONLY_CANTINIT: it cannot set up its -shm file
    [InlineData(8, 1032, "database file was deleted or replaced")] // SQLITE_READONLY_DBMOVED
    [InlineData(19, 1811, "could not reach its storage")] // SQLITE_CONSTRAINT_TRIGGER: nothing wrong with the disk
    [InlineData(11, 11, "could not reach its storage")] // SQLITE_CORRUPT
    public void A_full_disk_a_disk_error_a_read_only_and_a_locked_database_are_named_and_anything_else_is_the_generic_detail(int code, int extended, string detail)
    {
        var failure = CommitFailure.Of(new SqliteException("SQLite said no", code, extended));

        failure.Detail.Should().Contain(detail);
    }

    [Theory]
    [InlineData(13, 13, false)] // SQLITE_FULL: the log had no room for the commit
    [InlineData(5, 5, false)] // SQLITE_BUSY: never began
    [InlineData(8, 8, false)] // SQLITE_READONLY
    [InlineData(10, 1034, true)] // SQLITE_IOERR_FSYNC: the commit's frames may be in the log, which a recovery replays
    [InlineData(11, 11, true)] // SQLITE_CORRUPT: nothing known
    public void Only_a_failure_that_may_have_left_the_commit_on_disk_is_one_a_client_must_not_repeat_blindly(int code, int extended, bool mayHaveCommitted)
    {
        CommitFailure.Of(new SqliteException("SQLite said no", code, extended)).MayHaveCommitted.Should().Be(mayHaveCommitted);
    }

    [Fact]
    public void A_failure_that_is_not_SQLites_is_the_generic_detail()
    {
        CommitFailure.Of(new InvalidOperationException("a bug")).Detail.Should().Be("The broker could not reach its storage. Try again shortly.");
    }
}
