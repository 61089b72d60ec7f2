using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection;
using WonderQ.Broker.Health;
using WonderQ.Broker.Storage;

namespace WonderQ.Broker.Tests.Health;

public sealed class HealthTests(SharedBroker broker) : IClassFixture<SharedBroker>
{
    private readonly HttpClient _client = broker.Client;

    [Fact]
    public async Task Healthz_returns_200_when_the_store_answers()
    {
        using var response = await _client.GetAsync("/healthz");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.ReadJsonAsync()).GetProperty("status").GetString().Should().Be("ok");
    }

    [Fact]
    public async Task Healthz_is_a_503_problem_when_the_store_does_not_answer()
    {
        var store = new SilentStore(broker.App.Services.GetRequiredService<IMessageStore>());

        var answer = await HealthApi.Check(store, CancellationToken.None);

        var problem = answer.Result.Should().BeOfType<ProblemHttpResult>().Subject;
        problem.StatusCode.Should().Be(StatusCodes.Status503ServiceUnavailable, "a load balancer takes the broker out of rotation");
        problem.ProblemDetails.Detail.Should().Contain("store");
    }

    [Fact]
    public async Task Healthz_answers_HEAD_as_it_answers_GET()
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, "/healthz");

        using var response = await _client.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task OpenApi_document_lists_every_path()
    {
        using var response = await _client.GetAsync("/openapi/v1.json");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var paths = (await response.ReadJsonAsync()).GetProperty("paths").PropertyNames();
        paths.Select(p => p.TrimEnd('/')).Should().Contain(
            "/queues",
            "/queues/find",
            "/queues/{queue}/messages",
            "/queues/{queue}",
            "/messages",
            "/messages/consume",
            "/messages/{id}",
            "/healthz");
    }

    [Theory]
    [InlineData("/healthz", "get", "503")]
    [InlineData("/messages", "post", "415")]
    [InlineData("/queues", "post", "415")]
    [InlineData("/messages/consume", "get", "503")]
    public async Task OpenApi_document_lists_the_errors_an_endpoint_can_answer(string path, string method, string status)
    {
        using var response = await _client.GetAsync("/openapi/v1.json");

        var paths = (await response.ReadJsonAsync()).GetProperty("paths");
        var operation = paths.EnumerateObject().Single(p => p.Name.TrimEnd('/') == path).Value.GetProperty(method);
        operation.GetProperty("responses").PropertyNames().Should().Contain(status);
    }

    private sealed class SilentStore(IMessageStore inner) : DelegatingStore(inner)
    {
        public override Task<bool> PingAsync(CancellationToken cancellationToken) => Task.FromResult(false);
    }
}
