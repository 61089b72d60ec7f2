using System.Net;
using FluentAssertions;
using WonderQ.Reliability.Tests.Support;
using Xunit.Abstractions;
using static WonderQ.Reliability.Tests.Support.HostileRequests;

namespace WonderQ.Reliability.Tests.HostileInput;

/// <summary>
/// The checks the DevTool's and the UserApp's hostile-input tests hold their app to alike: whatever a request gets
/// wrong, the answer is a 4xx problem+json (or the server's own 4xx) without internals, and the app goes on serving,
/// as <see cref="ShouldStillServeAsync"/> tells for each. Each test class lists its app's requests.
/// </summary>
public abstract class FrontedAppHostileInputTests(FrontedApp apps, ITestOutputHelper output)
{
    private const int RandomRequestCount = 1_000;

    protected FrontedApp Apps { get; } = apps;

    /// <summary>The app's own well-formed calls, answered as they should be.</summary>
    protected abstract Task ShouldStillServeAsync(HttpClient client);

    protected async Task ShouldBeAClientProblemAsync(string name, string method, string path, string? body, string? contentType, int expected)
    {
        using var client = Apps.CreateClient();
        await SendAndCheckAsync(client, name, method, path, body, contentType, expected);
        await ShouldStillServeAsync(client);
    }

    /// <summary>The bad bytes sit between <paramref name="prefix"/> and <paramref name="suffix"/>, in the field the endpoint reads.</summary>
    protected async Task InvalidUtf8ShouldBeA400Async(string path, string prefix, string suffix)
    {
        using var client = Apps.CreateClient();

        using var response = await client.PostAsync(path, Json.Raw(WithInvalidUtf8(prefix, suffix)));

        await response.ShouldBeClientProblemAsync(HttpStatusCode.BadRequest);
        await ShouldStillServeAsync(client);
    }

    /// <summary>A chunked body is <paramref name="prefix"/> and then one string long enough to pass the limit.</summary>
    protected async Task BodyOverTheRequestLimitShouldBeA413Async(string path, bool chunked, string prefix)
    {
        // Over a bare socket, since the app answers before the body is read and closes the connection, which
        // HttpClient, still writing, reports as a reset rather than the answer.
        var head = RawHttp.PostJson(path, chunked, OverLimit);

        // A declared length is refused from the head alone; a chunked body once it passes the limit.
        var response = chunked
            ? await RawHttp.SendAsync(Apps.Url, head, RawHttp.Chunked(prefix, OverLimit, "\"}"))
            : await RawHttp.SendAsync(Apps.Url, head);

        response.ShouldBeProblem(413).GetProperty("detail").GetString().Should().Contain("Limits:MaxRequestBodyBytes");
        using var client = Apps.CreateClient();
        await ShouldStillServeAsync(client);
    }

    protected async Task ThousandsOfQueryParametersShouldNeverBeA5xxAsync(string method, string path)
    {
        // 1,500 parameters, within the server's request-line limit so they reach the app.
        using var client = Apps.CreateClient();
        var separator = path.Contains('?') ? '&' : '?';

        using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), $"{path}{separator}{ThousandsOfParameters()}"));

        ((int)response.StatusCode).Should().BeLessThan(500);
        if ((int)response.StatusCode >= 400)
        {
            await response.ShouldBeClientProblemAsync();
        }

        await ShouldStillServeAsync(client);
    }

    protected async Task GetShouldBeAClientProblemAsync(string target)
    {
        using var client = Apps.CreateClient();

        using var response = await client.GetAsync(target);

        await response.ShouldBeClientProblemAsync();
        await ShouldStillServeAsync(client);
    }

    /// <summary>
    /// <paramref name="head"/> over a bare socket: Kestrel answers some requests before any middleware runs, so only
    /// the status (held to <paramref name="status"/>) and the absence of internals can be held to the rules, not the
    /// problem+json shape.
    /// </summary>
    protected async Task RawRequestShouldLeakNothingAsync(string head, Action<RawHttp.Response> status)
    {
        var response = await RawHttp.SendAsync(Apps.Url, head);

        status(response);
        Problems.ShouldNotLeak(response.Body, response.Body);
        using var client = Apps.CreateClient();
        await ShouldStillServeAsync(client);
    }

    protected async Task RandomRequestsShouldGetNoServerErrorAsync(HttpClient client, AppFuzzer.Shape shape)
    {
        var fuzzer = new AppFuzzer(new Random(Seed), shape);

        var (failures, statuses) = await fuzzer.RunAsync(client, RandomRequestCount, parallelism: 4);

        output.WriteLine($"seed {Seed}, {RandomRequestCount} requests; statuses: {AppFuzzer.Describe(statuses)}");
        failures.Should().BeEmpty();
        await ShouldStillServeAsync(client);
    }

    /// <summary>
    /// <paramref name="impatient"/> (an app whose broker client gives up at once) with its broker stopped answers each
    /// of <paramref name="requests"/> with a problem that names the broker.
    /// </summary>
    protected static async Task WithTheBrokerDownShouldNameItAsync(
        FrontedApp impatient, params Func<HttpClient, Task<HttpResponseMessage>>[] requests)
    {
        await using (impatient)
        {
            await impatient.InitializeAsync();
            var broker = impatient.BrokerUrl.Authority;
            using var client = impatient.CreateClient();
            await impatient.StopBrokerAsync();

            foreach (var request in requests)
            {
                using var response = await request(client);
                await response.ShouldReportBrokerDownAsync(broker);
            }
        }
    }
}
