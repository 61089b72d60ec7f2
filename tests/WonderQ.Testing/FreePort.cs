using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace WonderQ.Testing;

public static class FreePort
{
    /// <summary>A loopback port nothing listens on right now (the OS picks it): free to take, or refused if connected to.</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static Uri Url(int port) => new(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}"));
}
