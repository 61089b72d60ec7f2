using WonderQ.Broker.Storage;
using WonderQ.Broker.Storage.Sqlite;

namespace WonderQ.Broker.Tests.Storage;

/// <summary>Keeps the writer inside its batch until released, while a test queues up what it hands the writer next.</summary>
internal sealed class HoldOperation() : WriteOperation<bool>(CancellationToken.None)
{
    private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Entered => _entered.Task;

    public ManualResetEventSlim Release { get; } = new();

    public override void Execute(WriterCommands commands, QueueActivity activity, DateTimeOffset now)
    {
        _entered.SetResult();
        Release.Wait(TimeSpan.FromSeconds(30));
        Result = true;
    }
}
