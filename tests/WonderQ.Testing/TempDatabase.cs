using Microsoft.Data.Sqlite;

namespace WonderQ.Testing;

/// <summary>A fresh directory for one broker's SQLite file (and whatever else a test puts there), removed afterwards.</summary>
public sealed class TempDatabase : IDisposable
{
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("wonderq-tests-").FullName;

    public string Path => System.IO.Path.Combine(Directory, "q.db");

    public void Dispose()
    {
        // Pooled connections of an in-process broker keep the files open until the pools let go.
        SqliteConnection.ClearAllPools();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A file still held by a process being torn down; the temp directory is the OS's to clean.
        }
    }
}
