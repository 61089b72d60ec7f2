using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace WonderQ.Testing;

/// <summary>
/// Ports for the processes a test starts, and for URLs nothing listens on. A port the OS picks (bind to 0) comes from
/// the ephemeral range, from which every outgoing connection also takes its local port: one could take it between
/// the test's check and the child's bind a second later, or while a killed broker's successor binds it again. These
/// come from below that range instead, where only a bind names a port, and a byte lock in a file shared by every test
/// process claims each for the process that handed it out, so the test projects that run at once never share one.
/// </summary>
public static class FreePort
{
    // Below Linux's default ephemeral range (32768-60999) and above the well-known services.
    private const int First = 20_000;
    private const int Last = 32_767;

    // Held open for the life of the process: a POSIX record lock goes when its holder closes any descriptor of the file.
    // A file per user, as another user's would not open for writing.
    private static readonly FileStream _claims = new(
        Path.Combine(Path.GetTempPath(), $"wonderq-test-ports-{Environment.UserName}.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite);

    private static readonly Lock _gate = new();
    private static int _next = Random.Shared.Next(First, Last + 1);

    /// <summary>A loopback port nothing listens on right now, and no other test process will hand out: free to take, or refused if connected to.</summary>
    public static int Next()
    {
        lock (_gate)
        {
            for (var tried = First; tried <= Last; tried++)
            {
                var port = _next;
                _next = port == Last ? First : port + 1;
                if (TryClaim(port) && IsFree(port))
                {
                    return port;
                }
            }
        }

        throw new InvalidOperationException($"No loopback port from {First} to {Last} is free.");
    }

    public static Uri Url(int port) => new(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}"));

    /// <summary>Locks the port's byte of the claims file, once: another process's lock on it refuses this one.</summary>
    private static bool TryClaim(int port)
    {
        if (OperatingSystem.IsMacOS())
        {
            // .NET has no record locks there; the check that nothing listens is all there is.
            return true;
        }

        try
        {
            _claims.Lock(port, 1);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
