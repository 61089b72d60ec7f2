namespace WonderQ.Broker.Tests;

/// <summary>
/// A broker that refuses to start in process fails the test where it is created, with the line it would have said on
/// stderr: not at its first request with TestServer's "The server has not been started", which names no reason.
/// </summary>
public sealed class InProcessStartTests
{
    [Fact]
    public async Task A_broker_refusing_to_start_in_process_fails_with_its_refusal_line()
    {
        await using var broker = new BrokerApplication(settings: new Dictionary<string, string> { ["Storage:Sqlite:PurgeBatchBytes"] = "0" });

        var create = () => broker.CreateClient();

        create.Should().Throw<InvalidOperationException>()
            .WithMessage("*WonderQ broker did not start: Storage:Sqlite:PurgeBatchBytes must be from 1 to 1073741824.*");
    }
}
