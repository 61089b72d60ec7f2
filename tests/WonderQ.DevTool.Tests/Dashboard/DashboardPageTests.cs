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
        var html = await response.Content.ReadAsStringAsync();
        html.Should().Contain("<script src=\"app.js\"").And.Contain("app.css");
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
            (await response.Content.ReadAsStringAsync()).Should().BeEmpty("a bare 400, as the README says, not ASP.NET Core's HTML page");
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
