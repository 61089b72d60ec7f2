namespace WonderQ.Broker.Storage;

/// <summary>
/// The store cannot serve now (shutting down, a full disk, a disk failure); answered as 503 so a client retries. Its
/// message is the 503's detail, so it is a sentence for the client that says what is wrong as far as the store
/// knows, never an exception's text; the cause, for the log, is the inner exception.
/// </summary>
public sealed class StoreUnavailableException : Exception
{
    public StoreUnavailableException(string message)
        : base(message)
    {
    }

    public StoreUnavailableException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>
    /// Whether what failed may have been committed all the same: a PostgreSQL server lost during or after COMMIT, a
    /// SQLite sync that failed after the commit was written. A SQLite batch refused for a full disk, a lock or a
    /// read-only file was rolled back, and a PostgreSQL connection that could not be opened carried nothing, so a client
    /// may repeat it without doing it twice.
    /// </summary>
    public bool MayHaveCommitted { get; init; }
}
