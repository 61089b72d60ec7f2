using Microsoft.AspNetCore.Builder;
using WonderQ.Shared.Client;

namespace WonderQ.DevTool.Tests.Browser;

/// <summary>
/// The broker and the DevTool on real sockets, for a real browser. The broker can be stopped and started again on the
/// same port and database file, as a developer restarting it would.
/// </summary>
public class LiveApps : FrontedApp
{
    private BrokerClient? _brokerClient;

    public LiveApps()
        : this([])
    {
    }

    /// <param name="devToolSettings">Settings of a test class's own for the DevTool, after the ones below.</param>
    /// <param name="brokerSettings">Settings of a test class's own for the broker (<c>--Auth:ApiKeys:0=...</c>).</param>
    protected LiveApps(string[] devToolSettings, string[]? brokerSettings = null)
        : base(
            brokerSettings ?? [],
            [
                // The page should learn within a poll or two that the broker is gone.
                "--Broker:MaxRetries=0",
                "--Broker:AttemptTimeout=00:00:02",
                "--Broker:TotalTimeout=00:00:02",
                .. devToolSettings,
            ])
    {
    }

    /// <summary>A typed client straight to the broker, to arrange what the page should then show.</summary>
    public BrokerClient BrokerClient => _brokerClient ??= new(CreateBrokerClient());

    protected override WebApplication CreateApp(string[] args) => WonderQ.DevTool.Program.CreateApp(args);
}

/// <summary>
/// The same apps for tests of what the DevTool answers rather than of how soon it gives up on the broker: LiveApps's
/// two seconds, there so that a page learns quickly that the broker is gone, were too few for a first answer on a
/// loaded machine (a CI run's 503 to <c>GET /queues?_=1</c>).
/// </summary>
public sealed class PatientLiveApps() : LiveApps(["--Broker:AttemptTimeout=00:00:15", "--Broker:TotalTimeout=00:00:15"]);
