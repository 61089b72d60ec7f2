namespace WonderQ.Broker.Auth;

/// <summary>Section <c>Auth</c>. With no keys (the default) the broker is open, as suits a localhost-only process.</summary>
public sealed class ApiKeyOptions
{
    public const string Section = "Auth";

    /// <summary>Accepted bearer keys. When any is set, every endpoint but <c>/healthz</c> requires one.</summary>
    public string[] ApiKeys { get; set; } = [];
}
