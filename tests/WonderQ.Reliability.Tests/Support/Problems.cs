using System.Net;
using System.Text.Json;
using FluentAssertions;

namespace WonderQ.Reliability.Tests.Support;

/// <summary>The one shape every error must have: a 4xx problem+json with status, title and detail, nothing internal.</summary>
public static class Problems
{
    /// <summary>Texts that only appear when an exception or a stack trace leaks out.</summary>
    public static readonly string[] LeakMarkers = ["Exception", "   at ", "System.", "Microsoft."];

    public static async Task<JsonElement> ShouldBeClientProblemAsync(this HttpResponseMessage response, params HttpStatusCode[] allowed)
    {
        var body = await response.Content.ReadAsStringAsync();
        var what = $"{response.RequestMessage?.Method} {Describe(response.RequestMessage?.RequestUri)} answered {(int)response.StatusCode}: {Shorten(body)}";

        ((int)response.StatusCode).Should().BeInRange(400, 499, what);
        if (allowed.Length > 0)
        {
            response.StatusCode.Should().BeOneOf(allowed, what);
        }

        return ShouldBeProblemBody(response, body, what);
    }

    /// <summary>Any error (4xx or 5xx) must still be problem+json without internals; used where 503 is expected.</summary>
    public static JsonElement ShouldBeProblemBody(HttpResponseMessage response, string body, string what)
    {
        response.Content.Headers.ContentType?.MediaType.Should().Be("application/problem+json", what);
        ShouldNotLeak(body, what);

        using var document = JsonDocument.Parse(body);
        var root = document.RootElement.Clone();
        root.ValueKind.Should().Be(JsonValueKind.Object, what);
        root.TryGetProperty("status", out var status).Should().BeTrue(what);
        status.GetInt32().Should().Be((int)response.StatusCode, what);
        root.TryGetProperty("title", out var title).Should().BeTrue(what);
        title.GetString().Should().NotBeNullOrWhiteSpace(what);
        root.TryGetProperty("detail", out var detail).Should().BeTrue(what);
        detail.GetString().Should().NotBeNullOrWhiteSpace(what);
        return root;
    }

    /// <summary>The same checks on an answer read off a bare socket.</summary>
    public static JsonElement ShouldBeProblem(this RawHttp.Response response, int status)
    {
        var what = response.Head + "\n\n" + Shorten(response.Body);
        response.Status.Should().Be(status, what);
        response.Header("Content-Type").Should().StartWith("application/problem+json", what);
        ShouldNotLeak(response.Body, what);

        using var document = JsonDocument.Parse(response.Body);
        var root = document.RootElement.Clone();
        root.GetProperty("status").GetInt32().Should().Be(status, what);
        root.TryGetProperty("title", out var title).Should().BeTrue(what);
        title.GetString().Should().NotBeNullOrWhiteSpace(what);
        root.TryGetProperty("detail", out var detail).Should().BeTrue(what);
        detail.GetString().Should().NotBeNullOrWhiteSpace(what);
        return root;
    }

    public static void ShouldNotLeak(string body, string what)
    {
        foreach (var marker in LeakMarkers)
        {
            body.Should().NotContain(marker, what);
        }
    }

    private static string Describe(Uri? uri) => uri is null ? "" : Shorten(uri.PathAndQuery);

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + "…";
}
