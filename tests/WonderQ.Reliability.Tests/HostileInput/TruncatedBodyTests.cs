using System.Net.Sockets;
using System.Text;
using FluentAssertions;
using WonderQ.Reliability.Tests.Support;

namespace WonderQ.Reliability.Tests.HostileInput;

/// <summary>
/// A client that stops sending in the middle of a body (its process killed, its connection dropped) costs the broker
/// nothing and fills no log: Kestrel logged a stack trace ("Reading is already in progress", dotnet/aspnetcore#17840)
/// for each such connection, which a flaky or hostile client could repeat without end.
/// </summary>
public sealed class TruncatedBodyTests
{
    private const string CutOff =
        "POST /messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"queue_name\":\"cut\",\"bo";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_body_its_client_stopped_sending_midway_leaves_no_stack_trace_in_the_log(bool reset)
    {
        using var database = new TempDatabase();
        using var broker = AppProcess.StartBroker(database.Path, FreePort.Next());
        await broker.WaitReadyAsync();

        for (var i = 0; i < 10; i++)
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(broker.Url.Host, broker.Url.Port);
            await tcp.GetStream().WriteAsync(Encoding.ASCII.GetBytes(CutOff));
            // The broker is reading the body when the client goes.
            await Task.Delay(100);
            if (reset)
            {
                tcp.Client.LingerState = new LingerOption(true, 0);
            }
        }

        using var client = broker.CreateClient();
        await client.ShouldStillServeAsync();
        // Kestrel logs as each connection ends, and the console logger writes from a queue of its own.
        await Task.Delay(TimeSpan.FromSeconds(1));

        broker.StandardOutput.Should().NotContain("   at ").And.NotContain("Reading is already in progress");
    }
}
