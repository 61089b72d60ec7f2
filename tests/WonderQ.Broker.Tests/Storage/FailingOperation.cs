using WonderQ.Broker.Storage;
using WonderQ.Broker.Storage.Sqlite;

namespace WonderQ.Broker.Tests.Storage;

/// <summary>A change that throws, so that the writer rolls back the whole batch it is in.</summary>
internal sealed class FailingOperation() : WriteOperation<bool>(CancellationToken.None)
{
    public override void Execute(WriterCommands commands, QueueActivity activity, DateTimeOffset now) =>
        throw new InvalidOperationException("This change fails, and its whole batch with it.");
}
