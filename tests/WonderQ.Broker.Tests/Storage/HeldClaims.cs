using System.Reflection;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using WonderQ.Broker.Storage.Sqlite;

namespace WonderQ.Broker.Tests.Storage;

/// <summary>
/// Holds the commit writer inside the first reservation it makes from now on, until released: a trigger on the
/// broker's file calls a function registered on the writer's own connection (reached by reflection, while the writer
/// is idle), which blocks. A claim made for a parked consumer inside a send's commit is so held between the moment the
/// consumer is taken and the moment the commit answers it.
/// </summary>
internal sealed class HeldClaims : IDisposable
{
    private readonly string _databasePath;
    private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ManualResetEventSlim _released = new();

    public HeldClaims(IServiceProvider services, string databasePath)
    {
        _databasePath = databasePath;
        var writer = services.GetRequiredService<SqliteCommitWriter>();
        var commands = typeof(SqliteCommitWriter).GetField("_commands", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(writer)!;
        var connection = (SqliteConnection)typeof(WriterCommands).GetField("_connection", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(commands)!;
        connection.CreateFunction("test_hold_claim", () =>
        {
            _entered.TrySetResult();
            _released.Wait(TimeSpan.FromSeconds(30));
            return 0L;
        });
        Execute("CREATE TRIGGER test_hold_claim AFTER UPDATE OF reservation_token ON messages BEGIN SELECT test_hold_claim(); END;");
    }

    /// <summary>Completes once the writer is held inside a reservation.</summary>
    public Task Entered => _entered.Task;

    public void Release() => _released.Set();

    public void Dispose()
    {
        Release();
        Execute("DROP TRIGGER IF EXISTS test_hold_claim;");
        _released.Dispose();
    }

    private void Execute(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={_databasePath};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
