using WonderQ.Reliability.Tests.Support;

namespace WonderQ.Reliability.Tests.Auth;

/// <summary>The broker with one API key configured.</summary>
public sealed class AuthenticatedBroker() : BrokerFactory([new("Auth:ApiKeys:0", Key)])
{
    public const string Key = "secret";
}

/// <summary>The same, behind a real Kestrel socket, for requests HttpClient would tidy up before sending.</summary>
public sealed class AuthenticatedKestrelBroker() : KestrelBroker([$"--Auth:ApiKeys:0={AuthenticatedBroker.Key}"]);

/// <summary>The broker with two keys, as while clients move from an old key to a new one.</summary>
public sealed class TwoKeyBroker() : BrokerFactory([new("Auth:ApiKeys:0", TwoKeyBroker.OldKey), new("Auth:ApiKeys:1", TwoKeyBroker.NewKey)])
{
    public const string OldKey = "old-key";

    public const string NewKey = "new-key";
}
