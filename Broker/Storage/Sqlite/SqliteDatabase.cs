using System.Data;
using System.Runtime.InteropServices;
using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using SQLitePCL;
using WonderQ.Shared.Web;

namespace WonderQ.Broker.Storage.Sqlite;

/// <summary>
/// The database file: who owns it, its schema, and connections to it. The writer gets the one connection that
/// writes; every read opens a pooled connection of its own, which WAL lets run beside the writer.
/// </summary>
internal sealed class SqliteDatabase : IDisposable
{
    private static readonly IReadOnlyList<(int Version, string Sql)> _scripts = SchemaScripts.Load("WonderQ.Broker.Schema.");
    private readonly SqliteStorageOptions _options;
    private readonly ILogger<SqliteDatabase> _logger;
    private FileStream? _ownership;
    private bool _createdLockFile;
    private FileStream? _fileOwnership;

    /// <summary>Whether the file was empty (or new) when this start opened it: a start that fails leaves it so again.</summary>
    private bool _startedEmpty;
    private bool _gone;
    private SqliteConnection? _identity;
    private readonly Lock _identityLock = new();

    static SqliteDatabase()
    {
        DefaultTypeMap.MatchNamesWithUnderscores = true;

        // SQLite counts every allocation under one process-wide mutex, for sqlite3_memory_used() and a soft heap
        // limit, neither of which the broker uses: taking and releasing it was about 4% of the commit writer's CPU
        // (perf, 2026-11-30). SQLite takes this only before its first connection opens; after that (a second broker
        // in one test process) it refuses, and nothing changes.
        Batteries_V2.Init();
        _ = raw.sqlite3_config(raw.SQLITE_CONFIG_MEMSTATUS, 0);
    }

    public SqliteDatabase(IOptions<StorageOptions> options, IHostEnvironment environment, ILogger<SqliteDatabase> logger)
    {
        _options = options.Value.Sqlite;
        _logger = logger;
        FilePath = Path.GetFullPath(_options.Path, environment.ContentRootPath);
        FilePathWithoutLinks = FilePath;
        ReaderConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = FilePath,
            Mode = SqliteOpenMode.ReadWrite,
            Pooling = true,
            DefaultTimeout = BusyTimeoutSeconds,
        }.ToString();
    }

    public string FilePath { get; }

    /// <summary>The file, with the links on its path followed.</summary>
    public string FilePathWithoutLinks { get; private set; }

    /// <summary>
    /// Where SQLite keeps the write-ahead log: on Unix beside the file the links lead to, as its Unix code follows them
    /// before naming the log; on Windows beside the path as given (<c>GetFullPathNameW</c> follows none).
    /// </summary>
    public string WalPath => (OperatingSystem.IsWindows() ? FilePath : FilePathWithoutLinks) + "-wal";

    private int BusyTimeoutSeconds => (int)Math.Ceiling(_options.BusyTimeout.TotalSeconds);

    /// <summary>How long a write may wait on a lock (Storage:Sqlite:BusyTimeout, rounded up to whole seconds).</summary>
    public TimeSpan BusyTimeout => TimeSpan.FromSeconds(BusyTimeoutSeconds);

    public string ReaderConnectionString { get; }

    /// <summary>
    /// Whether the file and its write-ahead log are still where the broker opened them. SQLite goes on reading and
    /// writing files deleted under it without a word, and all it commits to them from then on is gone at the next start.
    /// So too when another file was renamed over it (a backup restored with mv while the broker ran): a file is at the
    /// path, but not the one SQLite writes to, and the log it checkpoints into that nameless one leaves the new one damaged.
    /// </summary>
    public bool IsInPlace
    {
        get
        {
            // Gone once, gone for good: files put back at the path (a backup restored) are not the ones SQLite has open.
            _gone = _gone || !File.Exists(FilePathWithoutLinks) || !File.Exists(WalPath) || HasMoved();
            return !_gone;
        }
    }

    /// <summary>SQLITE_FCNTL_HAS_MOVED, which SQLitePCLRaw does not name.</summary>
    private const int SqliteFcntlHasMoved = 20;

    /// <summary>
    /// Whether the file at the path is no longer the one the broker opened: SQLite's own check (SQLITE_FCNTL_HAS_MOVED),
    /// which on Unix compares the path's inode with the open file's. Asked of a connection of its own, as the writer's
    /// is busy on its thread; Windows, where SQLite does not answer it, renames no file over one that is open.
    /// </summary>
    private bool HasMoved()
    {
        lock (_identityLock)
        {
            if (_identity?.Handle is not { } handle)
            {
                return false;
            }

            return NativeMethods.sqlite3_file_control(handle.DangerousGetHandle(), "main", SqliteFcntlHasMoved, out var moved) == raw.SQLITE_OK
                && moved != 0;
        }
    }

    private static class NativeMethods
    {
        // The SQLite that Microsoft.Data.Sqlite loads (SQLitePCLRaw's bundle); SQLitePCLRaw itself has no file_control.
        [DllImport("e_sqlite3", CallingConvention = CallingConvention.Cdecl, BestFitMapping = false, ThrowOnUnmappableChar = true)]
        public static extern int sqlite3_file_control(IntPtr db, [MarshalAs(UnmanagedType.LPUTF8Str)] string name, int op, out int result);
    }

    /// <summary>
    /// Takes ownership of the file, creates it if needed, brings its schema up to date and opens the writer's
    /// connection, then runs the writer's first reads (<paramref name="startUp"/>) under the same refusals: a page
    /// damaged past the schema surfaced there, as an unhandled exception with its stack trace, and the lock file left
    /// behind. Throws <see cref="StoreOwnershipException"/> when another broker holds the file, and
    /// <see cref="StartRefusedException"/> when SQLite cannot open it or it is not a database.
    /// </summary>
    public T OpenWriter<T>(Func<SqliteConnection, T> startUp)
    {
        TakeOwnership();

        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = FilePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = BusyTimeoutSeconds,
        }.ToString());
        var opened = false;
        try
        {
            // Before SQLite opens the file, which makes a -wal for one in WAL mode.
            var walWasThere = File.Exists(WalPath);
            connection.Open();
            // The first statement reads the file's header: a file that is not a database fails here, before any change.
            RefuseAFileThatIsNotThisBrokers(connection, walWasThere);
            Execute(connection, "PRAGMA journal_mode = WAL;");
            Execute(connection, $"PRAGMA synchronous = {_options.Synchronous};");
            // SQLite says so only at the first write, and a file with nothing to upgrade gets none before the first send.
            if (raw.sqlite3_db_readonly(connection.Handle, "main") == 1)
            {
                throw CannotOpen("SQLite can only read it. Check that this user can write it and its folder, where SQLite keeps its -wal and -shm files beside it");
            }

            // A -wal or -shm file this user cannot write (as a start refused on a read-only file leaves them, with its
            // mode) makes SQLite read-only too, and says so only at the first write: the broker started, answered
            // /healthz 200 and every write 503. A write transaction begun and rolled back finds it now, before the busy
            // timeout is set: another program holding the write lock (a sqlite3 shell) is no reason to wait or refuse.
            var probe = raw.sqlite3_exec(connection.Handle, "BEGIN IMMEDIATE; ROLLBACK;");
            if ((probe & 0xFF) is not (raw.SQLITE_OK or raw.SQLITE_BUSY))
            {
                SqliteException.ThrowExceptionForRC(probe, connection.Handle);
            }

            // The writer is the only one ever to take the write lock; a reader's checkpoint or recovery is all it waits on.
            Execute(connection, $"PRAGMA busy_timeout = {BusyTimeoutSeconds * 1000};");
            Execute(connection, $"PRAGMA journal_size_limit = {_options.WalSizeLimitBytes};");

            ApplySchema(connection);
            var started = startUp(connection);
            OpenIdentity();
            opened = true;
            _logger.LogInformation("Using the database {Path}", FilePath);
            return started;
        }
        catch (SqliteException ex) when ((ex.SqliteErrorCode & 0xFF) is raw.SQLITE_NOTADB or raw.SQLITE_CANTOPEN or raw.SQLITE_READONLY
            or raw.SQLITE_CORRUPT or raw.SQLITE_FULL or raw.SQLITE_IOERR)
        {
            throw (ex.SqliteErrorCode & 0xFF) switch
            {
                raw.SQLITE_NOTADB => CannotOpen("it is not a SQLite database. Point the setting at the broker's database, or at a file that does not exist yet", ex),
                // SQLite opens a file it may not write read-only, and says so at the first write: a read-only file, or
                // a folder where it cannot create the -wal and -shm files it keeps beside it.
                raw.SQLITE_READONLY => CannotOpen($"SQLite can only read it ({ex.Message.TrimEnd('.')}). {ReadOnlyBecause()}", ex),
                raw.SQLITE_CORRUPT => CannotOpen($"it is damaged ({ex.Message.TrimEnd('.')}). Restore it from a backup, or let sqlite3's .recover salvage what it can into a new file", ex),
                // A broker restarted on the disk that filled up under it: opening needs room (the -shm file, the schema).
                // SQLite says SQLITE_FULL only when a write to the file or its log found none; growing the -shm file on a
                // full disk is an I/O error, hence the room left in its words.
                raw.SQLITE_FULL => CannotOpen($"its disk is full ({ex.Message.TrimEnd('.')}). Free space on it, then start the broker again", ex),
                raw.SQLITE_IOERR => CannotOpen($"SQLite could not read or write it or its -wal and -shm files ({ex.Message.TrimEnd('.')}), as on a full disk{FreeSpace()} or a failing one. Free space on the disk, or check it, then start the broker again", ex),
                _ => CannotOpen($"SQLite cannot open it ({ex.Message.TrimEnd('.')}). Check that this user can read and write it and its folder", ex),
            };
        }
        finally
        {
            if (!opened)
            {
                connection.Dispose();
                GiveUpOwnership(emptyAgain: _startedEmpty);
            }
        }
    }

    /// <summary>
    /// A connection kept open on the file the writer opened, for <see cref="HasMoved"/>: a reader opened later opens
    /// whatever file is at the path by then. It runs no statement, so it holds no lock and never checkpoints.
    /// </summary>
    private void OpenIdentity()
    {
        var identity = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = FilePath,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
        }.ToString());
        identity.Open();
        lock (_identityLock)
        {
            _identity = identity;
        }
    }

    public async Task<SqliteConnection> OpenReaderAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(ReaderConnectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    public void Dispose()
    {
        lock (_identityLock)
        {
            _identity?.Dispose();
            _identity = null;
        }

        if (_fileOwnership is not null)
        {
            // Closing any descriptor of a file drops every POSIX lock this process holds on it, SQLite's too: the idle
            // readers in the pool are closed first, so none of them is left believing it still holds one.
            using (var readers = new SqliteConnection(ReaderConnectionString))
            {
                SqliteConnection.ClearPool(readers);
            }

            _fileOwnership.Dispose();
        }

        _ownership?.Dispose();
    }

    /// <summary>
    /// SQLite allows many writers to one file and would only make them wait on each other; one broker owning a file
    /// is what makes the in-process wake-ups and group commit correct. An exclusive lock on a file beside the
    /// database says so, and on Unix one on the file itself (for hard links); the OS releases both when this process
    /// dies, even by kill -9.
    /// </summary>
    public void TakeOwnership()
    {
        if (_ownership is not null)
        {
            return;
        }

        // Checked before the lock is taken, so that a path refused leaves no lock file behind.
        if (Directory.Exists(FilePath))
        {
            throw CannotOpen($"it is a directory. Give the path of a file, such as {Path.Combine(FilePath, "wonderq.db")}");
        }

        try
        {
            CreateFolder(Path.GetDirectoryName(FilePath)!);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw CannotOpen($"its folder cannot be created ({ex.Message.TrimEnd('.')}). Give a path in a folder this user can create", ex);
        }

        // The lock sits beside the file itself, so that a second broker reaching it through a symbolic link (to it or
        // to a folder on its path) finds the same lock.
        string lockPath;
        try
        {
            FilePathWithoutLinks = WithoutLinks(FilePath);
            lockPath = FilePathWithoutLinks + ".lock";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StoreOwnershipException(
                CannotOpenBecause($"its path cannot be followed to a file ({ex.Message.TrimEnd('.')}). Point the setting at a file"), ex);
        }

        // Only decides whether a refusal tidies the file up (see GiveUpOwnership), never whether it is safe to.
        var existed = File.Exists(lockPath);
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = OwnerOnly;
            }

            _ownership = new FileStream(lockPath, options);
            _createdLockFile = !existed;
        }
        catch (UnauthorizedAccessException ex)
        {
            throw CannotOpen($"this user cannot create its lock file {lockPath} ({ex.Message.TrimEnd('.')}). Give a path in a folder this user can write", ex);
        }
        catch (IOException ex) when (!IsLockHeld(ex))
        {
            throw CannotOpen($"its lock file {lockPath} cannot be created ({ex.Message.TrimEnd('.')})", ex);
        }
        catch (IOException ex)
        {
            throw new StoreOwnershipException(
                CannotOpenBecause($"it is in use by another WonderQ broker, which holds {lockPath}. Stop that broker, or point this one at another file"), ex);
        }

        try
        {
            RefuseALogWithoutItsFile();
            TakeFileOwnership();
        }
        catch
        {
            GiveUpOwnership();
            throw;
        }
    }

    /// <summary>
    /// A <c>-wal</c> with no database beside it (or an empty one) is what a broker leaves when its file was moved or
    /// deleted while it ran: SQLite could not fold the log into a file it may no longer write, and the log holds its last
    /// commits, acknowledged sends among them. SQLite would delete that log as it opens an empty file at the path, so
    /// the file moved elsewhere would lose them for good; the operator decides instead, with the log still there.
    /// </summary>
    private void RefuseALogWithoutItsFile()
    {
        var file = new FileInfo(FilePathWithoutLinks);
        var log = new FileInfo(WalPath);
        if ((file.Exists && file.Length > 0) || !log.Exists || log.Length == 0)
        {
            return;
        }

        throw CannotOpen($"there is no database at the path, but its write-ahead log {log.FullName} is there: the file was moved or deleted "
            + "while a broker had it open, and its last commits are in that log. Put the file back, or move the log beside it as <file>-wal "
            + $"and point this setting there; to start on a new, empty database instead, remove {log.FullName} and {FilePathWithoutLinks}-shm");
    }

    /// <summary>
    /// The permissions of the files the broker creates: its messages are no other local user's to read, and a user who
    /// could open the lock file or the database could also take the lock on it while the broker is stopped, and keep
    /// it from starting again. SQLite gives the <c>-wal</c> and <c>-shm</c> files the database file's permissions.
    /// </summary>
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>
    /// A folder the broker creates for its database is its owner's alone too: in a folder others may write (a umask of
    /// 0), any user could replace the database or its <c>-wal</c> while the broker is stopped. So is each folder above
    /// it that it creates: .NET gives the mode to the last one only, and another user could move a folder it made
    /// writable for all, with the database's folder in it, aside and put one of their own in its place.
    /// </summary>
    private static void CreateFolder(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }

        var missing = new Stack<string>();
        for (var folder = Path.GetFullPath(path); !Directory.Exists(folder); folder = Path.GetDirectoryName(folder)!)
        {
            missing.Push(folder);
        }

        while (missing.TryPop(out var folder))
        {
            Directory.CreateDirectory(folder, OwnerOnly | UnixFileMode.UserExecute);
        }
    }

    /// <summary>
    /// A hard link is the same file under another name, beside which a second broker finds a lock file of its own
    /// (and SQLite a write-ahead log of its own): on Unix the file itself is locked too, and a lock on a file is a
    /// lock on its inode, whatever name it was opened by. FileShare.None is an exclusive non-blocking flock there,
    /// which does not touch SQLite's own locks (POSIX byte-range locks, a separate kind) nor stop it reading and
    /// writing. Not on Windows, where FileShare.None would keep SQLite itself from opening the file; and not what
    /// native tools (cp, sqlite3 .backup) look at, so copying the file for a backup still works; .NET's own file
    /// APIs (File.Copy, File.ReadAllBytes) take a shared flock on Unix, and are refused on a live broker's file.
    /// </summary>
    private void TakeFileOwnership()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        try
        {
            // Created if missing, as SQLite would (an empty file is an empty database), but for its owner alone (see
            // OwnerOnly); opened only to read, so a file that is not a database is refused as it was.
            _fileOwnership = new FileStream(FilePath, new FileStreamOptions
            {
                Mode = FileMode.OpenOrCreate,
                Access = FileAccess.Read,
                Share = FileShare.None,
                UnixCreateMode = OwnerOnly,
            });
            _startedEmpty = _fileOwnership.Length == 0;
        }
        catch (UnauthorizedAccessException ex)
        {
            throw CannotOpen($"this user cannot open or create it ({ex.Message.TrimEnd('.')}). Check that this user can read and write it and its folder", ex);
        }
        catch (IOException ex) when (!IsLockHeld(ex))
        {
            throw CannotOpen($"it cannot be opened ({ex.Message.TrimEnd('.')})", ex);
        }
        catch (IOException ex)
        {
            throw new StoreOwnershipException(
                CannotOpenBecause("it is in use by another WonderQ broker, which may reach the file under another name (a hard link to it). Stop that broker, or point this one at another file"), ex);
        }
    }

    /// <summary>
    /// Lets go of a file the broker could not open, and removes the lock file if it made it for this start: an operator
    /// who pointed the setting at the wrong file should not find a stray <c>.lock</c> beside it. On Unix the file is
    /// unlinked while still locked, so no other broker can hold it; one that opened it a moment before and locks it
    /// once this one lets go holds a file by then nameless, and is refused the same database this one was. Windows
    /// deletes no file that is open without sharing deletion, this broker's own included: there the file goes once it
    /// is closed, unless another broker has opened it meanwhile, when Windows refuses, and it stays.
    /// </summary>
    private void GiveUpOwnership(bool emptyAgain = false)
    {
        // Nothing of SQLite's is open on the file by now, so no lock of its own goes with this descriptor.
        _fileOwnership?.Dispose();
        _fileOwnership = null;
        if (_ownership is not { Name: var lockPath })
        {
            return;
        }

        // A first start refused after SQLite had switched the empty file to WAL (a disk that filled as the schema went
        // in) left a header in WAL mode without tables, which the next start refused as a copy without its -wal. Made
        // empty again while the lock file still keeps other brokers off it: it held nothing, and its -wal and -shm
        // nothing but this start's.
        if (emptyAgain)
        {
            try
            {
                using (var file = new FileStream(FilePath, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
                {
                    file.SetLength(0);
                }

                TryDelete(WalPath);
                TryDelete(FilePathWithoutLinks + "-shm");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Left as it is: the refusal already says what to fix.
            }
        }

        if (_createdLockFile && !OperatingSystem.IsWindows())
        {
            TryDelete(lockPath);
        }

        _ownership.Dispose();
        _ownership = null;
        if (_createdLockFile && OperatingSystem.IsWindows())
        {
            TryDelete(lockPath);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Left behind: an empty lock file is harmless, and the refusal already says what to fix.
        }
    }

    /// <summary>
    /// Another process holds the lock: the errno of a refused <c>flock</c> on Unix (EWOULDBLOCK, 11 on Linux and 35 on
    /// macOS), a sharing or lock violation on Windows. Any other failure (a read-only file system, a full disk) is not
    /// another broker.
    /// </summary>
    private static bool IsLockHeld(IOException ex) =>
        ex.HResult is 11 && OperatingSystem.IsLinux()
        || ex.HResult is 35 && (OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD())
        || ex.HResult is unchecked((int)0x80070020) or unchecked((int)0x80070021);

    /// <summary>
    /// What to fix where SQLite can only read the file. A -wal or -shm that this user cannot write is named: a start as
    /// another user on a file it could read leaves them behind, its own, and the file's owner was then told to check
    /// that it can write the file and its folder, which it could.
    /// </summary>
    private string ReadOnlyBecause()
    {
        var walPath = FilePathWithoutLinks + "-wal";
        var unwritable = new[] { walPath, FilePathWithoutLinks + "-shm" }.Where(path => File.Exists(path) && !CanWrite(path)).ToList();
        if (unwritable.Count == 0)
        {
            return "Check that this user can write it and its folder, where SQLite keeps its -wal and -shm files beside it";
        }

        // An empty -wal holds no commits, and a -shm is rebuilt from the file and its -wal: with no broker on the file,
        // both may go. A -wal with commits in it must not.
        var walEmpty = !File.Exists(walPath) || new FileInfo(walPath).Length == 0;
        return $"This user cannot write {string.Join(" and ", unwritable)} beside it (left by a start as another user, say): "
            + (walEmpty
                ? "give them to this user, or, with no broker running on the file, remove them (the -wal holds no commits)"
                : "give them to this user, as the file is (the -wal holds commits: do not remove it)");
    }

    private static bool CanWrite(string path)
    {
        try
        {
            // Opened, not changed: FileMode.Open neither creates nor truncates.
            using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            return true;
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            return false;
        }
    }

    private StartRefusedException CannotOpen(string why, Exception? inner = null) => new(CannotOpenBecause(why), inner);

    /// <summary>The room left where the file is, for an operator to tell a full disk from a failing one; empty if unknown.</summary>
    private string FreeSpace()
    {
        try
        {
            return $" ({new DriveInfo(Path.GetDirectoryName(FilePathWithoutLinks)!).AvailableFreeSpace:N0} bytes free there now)";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return "";
        }
    }

    private string CannotOpenBecause(string why) => $"cannot open the database {FilePath} (Storage:Sqlite:Path): {why}.";

    /// <summary>The absolute path with every symbolic link along it followed, as far as the path exists.</summary>
    private static string WithoutLinks(string path)
    {
        // One link at a time, as the system follows them: a link's target is read against the real folder the link is
        // in, and a ".." after a link leaves where the link led. .NET's returnFinalTarget reads each target of a chain
        // against the path of the link before it instead, so a relative chain through a linked folder led elsewhere.
        var resolved = Path.GetPathRoot(path)!;
        var pending = new Stack<string>(Parts(path[resolved.Length..]).Reverse());
        var links = 0;
        while (pending.TryPop(out var part))
        {
            if (part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                resolved = Path.GetDirectoryName(resolved) ?? resolved;
                continue;
            }

            var next = Path.Combine(resolved, part);

            // At most 40 links, as Linux follows before it gives up (ELOOP); past that the path is taken as it reads.
            if (new FileInfo(next).LinkTarget is { } target && ++links <= 40)
            {
                if (Path.IsPathRooted(target))
                {
                    resolved = Path.GetPathRoot(target)!;
                    target = target[resolved.Length..];
                }

                foreach (var step in Parts(target).Reverse())
                {
                    pending.Push(step);
                }

                continue;
            }

            resolved = next;
        }

        return resolved;

        static string[] Parts(string relative) =>
            relative.Split([Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar], StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>
    /// A file this broker must not change: one that holds tables but no broker set a schema version on, or one whose
    /// version a WonderQ broker could have set but without the tables every such version has, is another
    /// application's (many set a <c>user_version</c> of their own); one of a later version is a newer broker's, or
    /// another application's. The broker added its tables beside the others and switched the file to WAL, or stopped
    /// with a stack trace when an upgrade script met a table it expected missing. Refused before anything is written.
    /// </summary>
    private void RefuseAFileThatIsNotThisBrokers(SqliteConnection connection, bool walWasThere)
    {
        var file = connection.QuerySingle<(long Version, string? Table, long WonderQTables)>(
            """
            SELECT (SELECT user_version FROM pragma_user_version),
                   (SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name LIMIT 1),
                   (SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN ('queues', 'messages'))
            """,
            commandType: CommandType.Text);
        if (file.Version == 0 && file.Table is not null)
        {
            throw CannotOpen($"it is a SQLite database that WonderQ did not make (it has a table '{file.Table}' and no WonderQ schema version). Point the setting at the broker's database, or at a file that does not exist yet");
        }

        // Until SQLite folds the -wal into the file (every 1,000 pages), all a broker stored is in the -wal; the file is
        // a header in WAL mode that names no table. Copied or restored alone, it read as a new file: the broker started
        // on it empty, and the messages were lost without a word. A broker killed in its first start's few statements
        // leaves its own -wal beside it, and one refused there empties the file again (GiveUpOwnership).
        if (file.Version == 0 && file.Table is null && !walWasThere
            && connection.ExecuteScalar<string>("PRAGMA journal_mode;", commandType: CommandType.Text) == "wal")
        {
            throw CannotOpen($"it is in WAL mode but holds no tables and has no -wal file beside it: a WonderQ database without its -wal, which holds all the broker stored until it folds that file in (a copy or a restore of the file alone, after a crash), or a file another program made. Put the -wal file it was copied with beside it as {Path.GetFileName(FilePath)}-wal, or delete it to start an empty database");
        }

        var latest = _scripts[^1].Version;
        if (file.Version > 0 && file.Version <= latest && file.WonderQTables < 2)
        {
            var has = file.Table is null ? "no tables" : $"a table '{file.Table}'";
            throw CannotOpen($"it is a SQLite database that WonderQ did not make (its schema version is {file.Version}, but it has {has} and not WonderQ's 'queues' and 'messages'). Point the setting at the broker's database, or at a file that does not exist yet");
        }

        // A newer broker's schema can mean what this broker's SQL does not know (a column it must set, a trigger it
        // relies on): writing to it blind, even switching it to WAL, could spoil the file for the broker that made it.
        if (file.Version > latest)
        {
            var whose = file.WonderQTables == 2
                ? "a newer WonderQ broker has used it. Run that broker, or point this one at another file"
                : "it is another application's database, or a newer WonderQ broker's. Point the setting at the broker's database, or at a file that does not exist yet";
            throw CannotOpen($"its schema is version {file.Version}, newer than this broker's {latest}: {whose}");
        }
    }

    private void ApplySchema(SqliteConnection connection)
    {
        var current = connection.ExecuteScalar<int>("PRAGMA user_version;", commandType: CommandType.Text);
        foreach (var (version, sql) in _scripts.Where(s => s.Version > current))
        {
            using var transaction = connection.BeginTransaction();
            connection.Execute(sql, transaction: transaction, commandType: CommandType.Text);
            connection.Execute($"PRAGMA user_version = {version};", transaction: transaction, commandType: CommandType.Text);
            transaction.Commit();
            if (current > 0)
            {
                _logger.LogInformation("Applied schema version {Version} to {Path}", version, FilePath);
            }
        }

        // One line for a new file: a version applied at a time read as the upgrade of a database that was not there.
        if (current == 0)
        {
            _logger.LogInformation("Created the database {Path} (schema version {Version})", FilePath, _scripts[^1].Version);
        }
    }

    private static void Execute(SqliteConnection connection, string sql) =>
        connection.Execute(sql, commandType: CommandType.Text);
}


