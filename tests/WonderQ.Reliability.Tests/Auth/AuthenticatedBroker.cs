using WonderQ.Reliability.Tests.Support;

namespace WonderQ.Reliability.Tests.Auth;

/// <summary>The broker with one API key configured.</summary>
public sealed class AuthenticatedBroker() : BrokerFactory([new("Auth:ApiKeys:0", Key)])
{
    public const string Key = "secret";
}

/// <summary>The same, behind a real Kestrel socket, for requests HttpClient would tidy up before sending.</summary>
public sealed class AuthenticatedKestrelBroker() : KestrelBroker([$"--Auth:ApiKeys:0={AuthenticatedBroker.Key}"]);
