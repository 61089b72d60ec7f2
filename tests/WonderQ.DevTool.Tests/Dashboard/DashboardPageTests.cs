using System.Net;
using System.Text.RegularExpressions;
using FluentAssertions;

namespace WonderQ.DevTool.Tests.Dashboard;

/// <summary>The page and its assets, as served: from the DevTool itself, with a policy that forbids inline script.</summary>
public sealed partial class DashboardPageTests(BrokerAndDevTool apps) : IClassFixture<BrokerAndDevTool>
{
    private readonly HttpClient _devTool = apps.DevTool.CreateClient();

    [Fact]
    public async Task Root_serves_the_dashboard_with_a_self_only_content_security_policy()
    {
        using var response = await _devTool.GetAsync("/");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType?.MediaType.Should().Be("text/html");
        response.Headers.GetValues("Content-Security-Policy").Single().Should().StartWith("default-src 'self'");
        response.Headers.GetValues("X-Content-Type-Options").Single().Should().Be("nosniff", "nothing the DevTool serves is run as a type it was not sent as");
        response.Headers.GetValues("Referrer-Policy").Single().Should().Be("no-referrer", "a link followed from the page does not tell another site where the DevTool is");
        var html = await response.Content.ReadAsStringAsync();
        html.Should().Contain("<script src=\"app.js\"").And.Contain("app.css");
    }

    [Theory]
    [InlineData("PUT", "/queues", null, null, HttpStatusCode.MethodNotAllowed)]
    [InlineData("GET", "/queues/orders?sise=5", null, null, HttpStatusCode.BadRequest)]
    [InlineData("GET", "/queues", "evil.example", null, HttpStatusCode.BadRequest)]
    [InlineData("GET", "/queues", null, "1.1 wonderq-broker-client", HttpStatusCode.MisdirectedRequest)]
    public async Task A_request_refused_before_it_reaches_an_endpoint_carries_the_security_headers_too(
        string method, string path, string? host, string? via, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (host is not null)
        {
            request.Headers.Host = host;
        }

        if (via is not null)
        {
            request.Headers.TryAddWithoutValidation("Via", via);
        }

        using var response = await _devTool.SendAsync(request);

        response.StatusCode.Should().Be(expected);
        response.Headers.GetValues("X-Content-Type-Options").Single().Should().Be("nosniff", "nothing the DevTool serves is run as a type it was not sent as");
        response.Headers.GetValues("Content-Security-Policy").Single().Should().StartWith("default-src 'self'");
        response.Headers.GetValues("Referrer-Policy").Single().Should().Be("no-referrer");
    }

    [Theory]
    [InlineData("evil.example", HttpStatusCode.BadRequest)]
    [InlineData("evil.example:3210", HttpStatusCode.BadRequest)]
    [InlineData("127.0.0.1:3210", HttpStatusCode.OK)]
    [InlineData("localhost", HttpStatusCode.OK)]
    [InlineData("[::1]:3210", HttpStatusCode.OK)]
    public async Task Only_local_host_names_are_answered_so_a_rebound_name_cannot_read_the_queues(string host, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/queues");
        request.Headers.Host = host;

        using var response = await _devTool.SendAsync(request);

        response.StatusCode.Should().Be(expected);
        if (expected == HttpStatusCode.BadRequest)
        {
            response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json", "not ASP.NET Core's bare 400 or HTML page");
            (await response.Content.ReadAsStringAsync()).Should().Contain("AllowedHosts");
        }
    }

    [Theory]
    [InlineData("/app.js", "text/javascript")]
    [InlineData("/app.css", "text/css")]
    public async Task Assets_are_served_by_the_devtool(string path, string mediaType)
    {
        using var response = await _devTool.GetAsync(path);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType?.MediaType.Should().Be(mediaType);
    }

    [Theory]
    [InlineData("PUT", "/")]
    [InlineData("POST", "/")]
    [InlineData("DELETE", "/")]
    [InlineData("PUT", "/index.html")]
    [InlineData("POST", "/app.js")]
    [InlineData("PATCH", "/app.css")]
    [InlineData("DELETE", "/favicon.svg")]
    public async Task Another_method_than_GET_or_HEAD_on_the_page_or_its_files_is_a_405_that_allows_GET_and_HEAD(string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);

        using var response = await _devTool.SendAsync(request);

        await ProblemAssertions.ShouldBeProblemAsync(response, HttpStatusCode.MethodNotAllowed, $"does not take {method}");
        response.Content.Headers.Allow.Should().Equal("GET", "HEAD");
    }

    /// <summary>/app/js is app.js to the embedded files (a folder separator and a dot are one to them), but no file's path.</summary>
    [Theory]
    [InlineData("GET", "/no-such-file.js")]
    [InlineData("PUT", "/no-such-file.js")]
    [InlineData("GET", "/app/js")]
    [InlineData("PUT", "/app/js")]
    public async Task A_file_the_page_does_not_have_is_a_404_whatever_the_method(string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);

        using var response = await _devTool.SendAsync(request);

        await ProblemAssertions.ShouldBeProblemAsync(response, HttpStatusCode.NotFound, path);
    }

    [Fact]
    public async Task A_file_asked_for_again_with_its_tag_is_a_304()
    {
        using var first = await _devTool.GetAsync("/app.js");
        using var again = new HttpRequestMessage(HttpMethod.Get, "/app.js");
        again.Headers.IfNoneMatch.Add(first.Headers.ETag!);

        using var response = await _devTool.SendAsync(again);

        first.Headers.CacheControl!.NoCache.Should().BeTrue();
        response.StatusCode.Should().Be(HttpStatusCode.NotModified);
    }

    [Fact]
    public async Task The_page_has_no_inline_script_no_inline_handlers_and_nothing_from_another_origin()
    {
        var html = await _devTool.GetStringAsync("/");

        InlineScript().IsMatch(html).Should().BeFalse("every script is a file of the DevTool's own");
        InlineHandler().IsMatch(html).Should().BeFalse("inline event handlers would be blocked by the policy");
        html.Should().NotContain("http://").And.NotContain("https://");
    }

    [Fact]
    public async Task The_script_puts_data_on_the_page_as_text_only()
    {
        var script = await _devTool.GetStringAsync("/app.js");

        script.Should().NotContain("innerHTML").And.NotContain("outerHTML").And.NotContain("insertAdjacentHTML").And.NotContain("document.write");
    }

    [GeneratedRegex(@"<script(?![^>]*\bsrc=)[^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex InlineScript();

    [GeneratedRegex(@"\son[a-z]+\s*=", RegexOptions.IgnoreCase)]
    private static partial Regex InlineHandler();
}
