using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using WonderQ.Broker.Storage;
using WonderQ.Broker.Storage.Sqlite;
using WonderQ.Shared.Web;

namespace WonderQ.Broker.Tests.Storage;

/// <summary>
/// A file in WAL mode without tables is refused at start, as what a broker's file is when copied without its -wal; the
/// two ways a broker's own first start can leave one must not be: refused midway (the file is made empty again), and
/// killed midway (its own -wal is still beside it).
/// </summary>
public sealed class FirstStartTests : IDisposable
{
    private readonly TempDatabase _database = new();

    public void Dispose() => _database.Dispose();

    [Fact]
    public void A_first_start_refused_midway_leaves_the_file_empty_and_the_next_start_takes_it()
    {
        using (var refused = NewDatabase())
        {
            var start = () => refused.OpenWriter<bool>(_ => throw new InvalidOperationException("refused after the switch to WAL"));
            start.Should().Throw<InvalidOperationException>();
        }

        new FileInfo(_database.Path).Length.Should().Be(0, "the file held nothing before this start");
        File.Exists(_database.Path + "-wal").Should().BeFalse();
        StartsAndMakesItsTables();
    }

    [Fact]
    public void A_header_in_WAL_mode_with_its_own_wal_beside_it_is_a_first_start_killed_midway_and_is_taken()
    {
        MakeAHeaderInWalMode();
        File.WriteAllBytes(_database.Path + "-wal", []);

        StartsAndMakesItsTables();
    }

    [Fact]
    public void A_header_in_WAL_mode_alone_is_refused_as_a_file_without_its_wal()
    {
        MakeAHeaderInWalMode();
        using var database = NewDatabase();

        var start = () => database.OpenWriter(connection => connection);

        start.Should().Throw<StartRefusedException>().WithMessage("*it is in WAL mode but holds no tables and has no -wal file beside it*");
        new FileInfo(_database.Path).Length.Should().BeGreaterThan(0, "a file this start did not find empty is left as it was");
    }

    private void MakeAHeaderInWalMode()
    {
        using var connection = new SqliteConnection($"Data Source={_database.Path};Pooling=false");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode = WAL;";
        command.ExecuteNonQuery();
    }

    private void StartsAndMakesItsTables()
    {
        using var database = NewDatabase();
        using var connection = database.OpenWriter(connection => connection);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM sqlite_schema WHERE name IN ('queues', 'messages')";
        Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture).Should().Be(2);
    }

    private SqliteDatabase NewDatabase() => new(
        Options.Create(new StorageOptions { Sqlite = { Path = _database.Path } }),
        new HostingEnvironment { ContentRootPath = Path.GetDirectoryName(_database.Path)! },
        NullLogger<SqliteDatabase>.Instance);
}
