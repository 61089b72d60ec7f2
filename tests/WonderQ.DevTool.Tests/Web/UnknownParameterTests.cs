using System.Net;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using WonderQ.DevTool.Tests.Browser;
using WonderQ.Shared.Contracts;

namespace WonderQ.DevTool.Tests.Web;

/// <summary>
/// Over real sockets, the DevTool in front of a real broker: a query parameter or a body field its endpoint does not
/// take is the DevTool's own 400 naming it, before anything reaches the broker; what the page sends, and every
/// documented parameter, is taken; the page, its files and its settings keep a cache-buster working.
/// </summary>
public sealed class UnknownParameterTests(PatientLiveApps apps) : IClassFixture<PatientLiveApps>, IDisposable
{
    private readonly HttpClient _devTool = apps.CreateClient();

    [Theory]
    [InlineData("/queues", """{"name":"{queue}","extra":1}""", "extra", "'extra' is not a field of POST /queues: its JSON body takes name.")]
    [InlineData("/messages", """{"queue":"{queue}","body":"hello"}""", "queue",
        "'queue' is not a field of POST /messages: its JSON body takes queue_id, queue_name, body.")]
    public async Task An_unknown_body_field_is_a_400_keyed_by_it(string path, string json, string name, string detail)
    {
        var queue = "unknown-" + Guid.NewGuid().ToString("N")[..12];
        if (path == "/messages")
        {
            await apps.BrokerClient.CreateQueueAsync(queue);
        }

        using var response = await _devTool.PostAsync(path, Json(json.Replace("{queue}", queue, StringComparison.Ordinal)));

        await ShouldBeInvalidAsync(response, name, detail);
        var queues = await apps.BrokerClient.ListQueuesAsync();
        if (path == "/messages")
        {
            queues.Single(q => q.Name == queue).QueueSize.Should().Be(0, "the refused send reached no broker");
        }
        else
        {
            queues.Should().NotContain(q => q.Name == queue, "the refused create reached no broker");
        }
    }

    [Theory]
    [InlineData("/queues/{queue}?sise=5", "sise", "'sise' is not a parameter of GET /queues/{queue}: it takes size.")]
    [InlineData("/queues/{queue}?size=5&limit=5", "limit", "'limit' is not a parameter of GET /queues/{queue}: it takes size.")]
    public async Task An_unknown_query_parameter_is_a_400_naming_it(string target, string name, string detail)
    {
        var queue = await QueueWithAMessageAsync();

        using var get = await _devTool.GetAsync(target.Replace("{queue}", queue, StringComparison.Ordinal));

        await ShouldBeInvalidAsync(get, name, detail);
    }

    [Fact]
    public async Task Requests_with_every_documented_parameter_are_answered_as_before()
    {
        var queue = "every-" + Guid.NewGuid().ToString("N")[..12];

        using var created = await _devTool.PostAsync("/queues", Json($$"""{"name":"{{queue}}"}"""));
        var id = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetInt64();
        using var sent = await _devTool.PostAsync("/messages", Json($$"""{"queue_id":{{id}},"queue_name":"{{queue}}","body":"one"}"""));
        // As the page sends them (DevTool/wwwroot/app.js).
        using var sentByPage = await _devTool.PostAsync("/messages", Json($$"""{"queue_name":"{{queue}}","body":"two"}"""));
        using var peek = await _devTool.GetAsync($"/queues/{queue}?size=1");
        using var deleted = await _devTool.DeleteAsync($"/queues/{queue}");

        created.StatusCode.Should().Be(HttpStatusCode.Created);
        sent.StatusCode.Should().Be(HttpStatusCode.Created);
        sentByPage.StatusCode.Should().Be(HttpStatusCode.Created);
        peek.StatusCode.Should().Be(HttpStatusCode.OK);
        JsonDocument.Parse(await peek.Content.ReadAsStringAsync()).RootElement.GetArrayLength().Should().Be(1, "size was read");
        deleted.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("/?_=1733000000000")]
    [InlineData("/index.html?_=1")]
    [InlineData("/app.js?v=2")]
    [InlineData("/dashboard/settings?_=1")]
    [InlineData("/queues?_=1")]
    public async Task The_page_its_files_and_endpoints_that_take_no_parameters_leave_a_cache_buster_alone(string target)
    {
        using var response = await _devTool.GetAsync(target);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    public void Dispose() => _devTool.Dispose();

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private async Task<string> QueueWithAMessageAsync()
    {
        var name = "unknown-" + Guid.NewGuid().ToString("N")[..12];
        await apps.BrokerClient.CreateQueueAsync(name);
        await apps.BrokerClient.SendAsync(QueueRef.ByName(name), "one");
        return name;
    }

    private static async Task ShouldBeInvalidAsync(HttpResponseMessage response, string name, string detail)
    {
        var problem = await ProblemAssertions.ShouldBeProblemAsync(response, HttpStatusCode.BadRequest, detail);
        problem.GetProperty("title").GetString().Should().Be("The request is not valid.");
        problem.GetProperty("detail").GetString().Should().Be(detail);
        problem.GetProperty("errors").GetProperty(name).EnumerateArray().Select(e => e.GetString()).Should().Equal(detail);
    }
}
