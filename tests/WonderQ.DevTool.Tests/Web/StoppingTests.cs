using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;

namespace WonderQ.DevTool.Tests.Web;

/// <summary>A Ctrl-C or SIGTERM while the dashboard's call waits on a broker that never answers.</summary>
public sealed class StoppingTests
{
    [Theory]
    [InlineData("GET", "/queues", false)]
    [InlineData("GET", "/queues/orders", false)]
    [InlineData("POST", "/messages", true)]
    [InlineData("DELETE", "/queues/orders", true)]
    public async Task A_request_waiting_on_a_broker_that_never_answers_ends_with_the_app_and_says_whether_it_may_have_changed_anything(
        string method, string path, bool mayHaveChanged)
    {
        // Arrange: a broker that takes connections and never answers.
        await using var broker = new SilentBroker();

        // Act: the app is told to stop, as by SIGTERM, while the request's broker call is under way.
        var (stoppedInTime, took, answer) = await broker.StopWhileAskedAsync(Program.CreateApp, method, path, TimeSpan.FromSeconds(4));

        // Assert: the app did not wait out the client's Broker:TotalTimeout (6 s), and its caller heard why it got no answer.
        stoppedInTime.Should().BeTrue($"the app stops within a second or two, not after the broker call's timeout (it took {took})");
        using var response = answer;
        response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        var detail = problem.GetProperty("detail").GetString();
        detail.Should().StartWith("The DevTool is shutting down");

        // A read cannot have been done in part: only a change may have been made all the same.
        if (mayHaveChanged)
        {
            detail.Should().Contain("may have been done all the same");
        }
        else
        {
            detail.Should().Contain("nothing was changed").And.NotContain("may have been done");
        }
    }
}
