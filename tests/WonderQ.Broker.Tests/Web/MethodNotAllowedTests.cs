using System.Net;
using System.Text;

namespace WonderQ.Broker.Tests.Web;

/// <summary>
/// A method a path does not take, over a real socket: a 405 whose <c>Allow</c> lists what the path does take (each of
/// which is answered there with something other than a 405), before anything else about the request is judged.
/// </summary>
public sealed class MethodNotAllowedTests(KestrelBroker broker) : IClassFixture<KestrelBroker>, IDisposable
{
    private readonly HttpClient _client = broker.CreateClient();

    [Theory]
    [InlineData("PUT", "/messages/consume", "GET")] // DELETE /messages/{id} matches too, but no DELETE of it is one
    [InlineData("POST", "/messages/consume", "GET")]
    [InlineData("HEAD", "/messages/consume", "GET")] // a HEAD would claim messages
    [InlineData("GET", "/messages", "POST")]
    [InlineData("PUT", "/messages/5", "DELETE")]
    [InlineData("GET", "/messages/not-a-number", "DELETE")] // the DELETE's 400 says what is wrong with the id
    [InlineData("PUT", "/queues", "GET, HEAD, POST")]
    [InlineData("POST", "/queues/find", "DELETE, GET, HEAD")] // 'find' may be a queue's name
    [InlineData("GET", "/queues/some-queue", "DELETE")]
    [InlineData("POST", "/queues/some-queue/messages", "GET, HEAD")]
    [InlineData("POST", "/healthz", "GET, HEAD")]
    [InlineData("DELETE", "/openapi/v1.json", "GET, HEAD")]
    public async Task A_wrong_method_is_a_405_whose_Allow_lists_only_the_methods_the_path_takes(string method, string path, string allow)
    {
        using var response = await _client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        response.StatusCode.Should().Be(HttpStatusCode.MethodNotAllowed);
        response.Content.Headers.Allow.Should().Equal(allow.Split(", "));
        if (method != "HEAD")
        {
            var problem = await response.ShouldBeProblemAsync(HttpStatusCode.MethodNotAllowed);
            problem.GetProperty("detail").GetString().Should().Be($"{path} does not take {method}; the README lists the API.");
        }

        foreach (var allowed in allow.Split(", "))
        {
            // No body and no queue: each is answered (a 400, a 404, a 200) without a wait or a change.
            using var answered = await _client.SendAsync(new HttpRequestMessage(new HttpMethod(allowed), path));
            answered.StatusCode.Should().NotBe(HttpStatusCode.MethodNotAllowed, $"{allowed} {path} is listed in its Allow");
        }
    }

    [Theory]
    [InlineData("PUT", "/queues/find?name=a&name=b")]
    [InlineData("HEAD", "/messages/consume?size=1&size=2")]
    [InlineData("POST", "/queues/some-queue/messages?size=1&SIZE=2")]
    public async Task A_wrong_method_is_a_405_whatever_its_query_string(string method, string target)
    {
        using var response = await _client.SendAsync(new HttpRequestMessage(new HttpMethod(method), target));

        response.StatusCode.Should().Be(HttpStatusCode.MethodNotAllowed, "the method is what the client has to change first");
    }

    /// <summary>
    /// A body this API would refuse (compressed, or in another charset than UTF-8) is judged only once the request has
    /// reached an endpoint: the method, or the path, is what the client has to change first.
    /// </summary>
    [Theory]
    [InlineData("PUT", "/queues", "gzip", 405)]
    [InlineData("PUT", "/messages/consume", "latin1", 405)]
    [InlineData("POST", "/mesages", "gzip", 404)]
    [InlineData("PUT", "/queues/some-queue/messages/5", "latin1", 404)]
    public async Task A_wrong_method_or_an_unknown_path_is_said_so_whatever_its_body(string method, string path, string body, int status)
    {
        using var content = body == "gzip"
            ? new ByteArrayContent(Encoding.UTF8.GetBytes("{}")) { Headers = { ContentType = new("application/json"), ContentEncoding = { "gzip" } } }
            : new StringContent("{}", Encoding.Latin1, "application/json");

        using var response = await _client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = content });

        var problem = await response.ShouldBeProblemAsync((HttpStatusCode)status);
        if (status == 405)
        {
            problem.GetProperty("detail").GetString().Should().Contain($"does not take {method}");
        }
    }

    public void Dispose() => _client.Dispose();
}
