using WonderQ.Shared.Web;

namespace WonderQ.Broker.Storage;

/// <summary>Another broker owns the database file; this one must not start.</summary>
public sealed class StoreOwnershipException(string message, Exception inner) : StartRefusedException(message, inner);
