using System.Net.Sockets;
using System.Text;

namespace WonderQ.Reliability.Tests.Support;

/// <summary>
/// HTTP/1.1 over a bare socket, for what HttpClient will not send (oversized request lines, bodies the server cuts
/// off). The response is read while the request is still being written, so an early answer is never lost to a reset.
/// </summary>
public static class RawHttp
{
    public sealed record Response(int Status, string Head, string Body)
    {
        public string? Header(string name) => Head.Split("\r\n")
            .Where(line => line.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase))
            .Select(line => line[(name.Length + 1)..].Trim())
            .FirstOrDefault();
    }

    /// <summary>The head of a GET that closes its connection; <paramref name="target"/> goes on the request line as is.</summary>
    public static string Get(string target) => $"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";

    /// <summary>The head of a JSON POST whose body is chunked, or declared at <paramref name="contentLength"/> bytes.</summary>
    public static string PostJson(string path, bool chunked, int contentLength = 0) =>
        $"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
        (chunked ? "Transfer-Encoding: chunked" : $"Content-Length: {contentLength}") + "\r\nConnection: close\r\n\r\n";

    /// <summary>Sends <paramref name="head"/> as UTF-8, so that it can carry what HttpClient refuses: bytes past ASCII.</summary>
    public static async Task<Response> SendAsync(Uri baseAddress, string head, Func<Stream, CancellationToken, Task>? writeBody = null)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(baseAddress.Host, baseAddress.Port, timeout.Token);
        var stream = tcp.GetStream();
        var received = new MemoryStream();
        var reading = ReadAllAsync(stream, received, timeout.Token);

        // A body still being written (or paused) once the server has answered and closed is given up at once.
        using var answered = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
        var giveUp = reading.ContinueWith(
            static (_, state) => ((CancellationTokenSource)state!).Cancel(), answered, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        try
        {
            await stream.WriteAsync(Encoding.UTF8.GetBytes(head), answered.Token);
            if (writeBody is not null)
            {
                await writeBody(stream, answered.Token);
            }
        }
        catch (Exception ex) when (ex is IOException || (ex is OperationCanceledException && reading.IsCompleted))
        {
            // The server answered and closed before taking the whole request: the answer is what matters.
        }

        await reading;
        await giveUp;
        var text = Encoding.UTF8.GetString(received.ToArray());
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (split < 0)
        {
            throw new InvalidOperationException($"No complete HTTP response: '{text}'");
        }

        var headPart = text[..split];
        var status = int.Parse(headPart.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        return new Response(status, headPart, Unchunk(headPart, text[(split + 4)..]));
    }

    /// <summary>Writes <paramref name="total"/> bytes of a JSON string body as HTTP chunks, stopping if the server closes.</summary>
    public static Func<Stream, CancellationToken, Task> Chunked(string prefix, int total, string suffix) => async (stream, ct) =>
    {
        await WriteChunkAsync(stream, Encoding.UTF8.GetBytes(prefix), ct);
        var block = Encoding.ASCII.GetBytes(new string('c', 16 * 1024));
        for (var sent = 0; sent < total; sent += block.Length)
        {
            await WriteChunkAsync(stream, block, ct);
        }

        await WriteChunkAsync(stream, Encoding.UTF8.GetBytes(suffix), ct);
        await stream.WriteAsync("0\r\n\r\n"u8.ToArray(), ct);
    };

    private static async Task WriteChunkAsync(Stream stream, byte[] data, CancellationToken ct)
    {
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"{data.Length:X}\r\n"), ct);
        await stream.WriteAsync(data, ct);
        await stream.WriteAsync("\r\n"u8.ToArray(), ct);
    }

    private static async Task ReadAllAsync(Stream stream, MemoryStream into, CancellationToken ct)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, ct)) > 0)
            {
                into.Write(buffer, 0, read);
            }
        }
        catch (IOException)
        {
            // Reset after the answer was sent; what arrived before it is kept.
        }
    }

    private static string Unchunk(string head, string body)
    {
        if (!head.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
        {
            return body;
        }

        var result = new StringBuilder();
        var at = 0;
        while (at < body.Length)
        {
            var lineEnd = body.IndexOf("\r\n", at, StringComparison.Ordinal);
            if (lineEnd < 0)
            {
                break;
            }

            var size = Convert.ToInt32(body[at..lineEnd], 16);
            if (size == 0)
            {
                break;
            }

            result.Append(body, lineEnd + 2, Math.Min(size, body.Length - lineEnd - 2));
            at = lineEnd + 2 + size + 2;
        }

        return result.ToString();
    }
}
