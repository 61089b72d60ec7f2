using Microsoft.Data.Sqlite;
using WonderQ.Broker.Storage;
using WonderQ.Broker.Storage.Sqlite;

namespace WonderQ.Broker.Tests.Storage;

/// <summary>Commits the batch so far, then fails as a sync does when the disk reports an error (SQLITE_IOERR_FSYNC).</summary>
internal sealed class CommitThenFailOperation() : WriteOperation<bool>(CancellationToken.None)
{
    public override void Execute(WriterCommands commands, QueueActivity activity, DateTimeOffset now)
    {
        commands.Commit.Execute();
        throw new SqliteException("disk I/O error", 10, 1034);
    }
}
