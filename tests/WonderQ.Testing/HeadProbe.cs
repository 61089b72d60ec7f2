namespace WonderQ.Testing;

/// <summary>A HEAD beside the GET it should mirror, for the apps' HEAD tests.</summary>
public static class HeadProbe
{
    public static async Task<HttpResponseMessage> HeadAsync(this HttpClient client, string uri, string? ifNoneMatch = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, uri);
        if (ifNoneMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-None-Match", ifNoneMatch);
        }

        return await client.SendAsync(request);
    }

    /// <summary>What a client reads of an answer besides its body, less what differs between any two answers.</summary>
    public static Dictionary<string, string> HeadersOf(HttpResponseMessage response) =>
        response.Headers.Concat(response.Content.Headers)
            .Where(h => h.Key is not ("Date" or "Transfer-Encoding"))
            .ToDictionary(h => h.Key, h => string.Join(", ", h.Value));
}
