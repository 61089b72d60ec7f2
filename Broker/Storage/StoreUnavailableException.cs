namespace WonderQ.Broker.Storage;

/// <summary>The store cannot serve now (shutting down, disk failure); answered as 503 so a client retries.</summary>
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
}
