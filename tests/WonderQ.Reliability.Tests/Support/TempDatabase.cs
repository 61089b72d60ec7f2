using Microsoft.Data.Sqlite;

namespace WonderQ.Reliability.Tests.Support;

/// <summary>A fresh directory for one broker's SQLite file, removed afterwards.</summary>
public sealed class TempDatabase : IDisposable
{
    public TempDatabase()
    {
        Directory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "wonderq-reliability-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Directory { get; }

    public string Path => System.IO.Path.Combine(Directory, "q.db");

    public void Dispose()
    {
        // Pooled connections of an in-process broker keep the files open until the pools let go.
        SqliteConnection.ClearAllPools();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held by a process being torn down; the temp directory is the OS's to clean.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
