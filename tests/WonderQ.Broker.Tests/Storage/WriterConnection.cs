using System.Reflection;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using WonderQ.Broker.Storage.Sqlite;

namespace WonderQ.Broker.Tests.Storage;

/// <summary>
/// The commit writer's own connection, private to it and so reached by reflection: a test sets a pragma on it (while
/// the writer is idle between requests) to make SQLite fail its next commits as a full or read-only disk would.
/// </summary>
internal static class WriterConnection
{
    public static object? Pragma(IServiceProvider services, string pragma)
    {
        var writer = services.GetRequiredService<SqliteCommitWriter>();
        var commands = typeof(SqliteCommitWriter).GetField("_commands", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(writer)!;
        var connection = (SqliteConnection)typeof(WriterCommands).GetField("_connection", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(commands)!;
        using var command = connection.CreateCommand();
        command.CommandText = pragma;
        return command.ExecuteScalar();
    }
}
