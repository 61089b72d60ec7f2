using System.Net;
using System.Text;
using FluentAssertions;

namespace WonderQ.Reliability.Tests.Support;

/// <summary>Sends one hand-written hostile request and holds its answer to the problem+json rules.</summary>
public static class HostileRequests
{
    /// <summary>The fuzzers' fixed seed, so a failure reproduces.</summary>
    public const int Seed = 20261129;

    public const string Sql = "'; DROP TABLE messages; --";

    /// <summary>Past Int64.</summary>
    public const string Huge = "99999999999999999999";

    public const string JsonType = "application/json";

    /// <summary>Past every app's default request-body limit (2 MiB).</summary>
    public const int OverLimit = 3 * 1024 * 1024;

    /// <summary>The app's broker client makes one short attempt, so a broker that is gone is reported at once.</summary>
    public static readonly string[] FailFastBrokerClient =
        ["--Broker:MaxRetries=0", "--Broker:AttemptTimeout=00:00:05", "--Broker:TotalTimeout=00:00:05"];

    /// <summary>Over 20 KB of query string: past the server's 8 KB request-line limit.</summary>
    public static string QueryPastTheRequestLineLimit() => string.Join('&', Enumerable.Range(0, 3_000).Select(i => $"p{i}=v{i % 10}"));

    /// <summary>1,500 bare parameters: many, yet within the request-line limit, so they reach the app.</summary>
    public static string ThousandsOfParameters() => string.Join('&', Enumerable.Range(0, 1_500).Select(i => $"{i}"));

    /// <summary>A body whose bytes between the two parts are not UTF-8.</summary>
    public static byte[] WithInvalidUtf8(string prefix, string suffix) =>
        [.. Encoding.UTF8.GetBytes(prefix), 0xFF, 0xFE, 0xC3, 0x28, .. Encoding.UTF8.GetBytes(suffix)];

    /// <summary>What an app answers when its broker is down: a 503 or 502 problem+json that names the broker.</summary>
    public static async Task ShouldReportBrokerDownAsync(this HttpResponseMessage response, string broker)
    {
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().BeOneOf([HttpStatusCode.ServiceUnavailable, HttpStatusCode.BadGateway], body);
        var problem = Problems.ShouldBeProblemBody(response, body, body);
        problem.GetProperty("detail").GetString().Should().Contain(broker);
    }

    /// <summary>Any 4xx will do (the exact one is a matter of taste), but it must be one.</summary>
    public const int AnyClientError = 0;

    /// <summary>A success is defensible too (e.g. unknown parameters ignored); an error must still be a 4xx problem.</summary>
    public const int SuccessOrClientError = -1;

    public static async Task SendAndCheckAsync(
        HttpClient client, string name, string method, string path, string? body, string? contentType, int expected)
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
