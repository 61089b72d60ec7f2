using System.Net;
using FluentAssertions;

namespace WonderQ.Reliability.Tests.Support;

/// <summary>Sends one hand-written hostile request and holds its answer to the problem+json rules.</summary>
public static class HostileRequests
{
    /// <summary>Any 4xx will do (the exact one is a matter of taste), but it must be one.</summary>
    public const int AnyClientError = 0;

    /// <summary>A success is defensible too (e.g. unknown parameters ignored); an error must still be a 4xx problem.</summary>
    public const int SuccessOrClientError = -1;

    public static async Task SendAndCheckAsync(
        HttpClient client, string name, string method, string path, byte[]? body, string? contentType, int expected)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = Json.Raw(body, contentType);
        }

        using var response = await client.SendAsync(request);

        switch (expected)
        {
            case SuccessOrClientError:
                ((int)response.StatusCode).Should().BeLessThan(500, name);
                if ((int)response.StatusCode >= 400)
                {
                    await response.ShouldBeClientProblemAsync();
                }

                break;
            case AnyClientError:
                await response.ShouldBeClientProblemAsync();
                break;
            default:
                await response.ShouldBeClientProblemAsync((HttpStatusCode)expected);
                break;
        }
    }
}
