using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using WonderQ.Shared.Client;
using WonderQ.Shared.Contracts;
using WonderQ.UserApp.Tests.Infrastructure;

namespace WonderQ.UserApp.Tests.Client;

/// <summary>
/// A server at Broker:Url that redirects, as no broker does (a web server sending http to https, a login page): the
/// client follows none, so that nothing it sends reaches where the redirect points, and reports the answer as one that
/// is not a broker's.
/// </summary>
public sealed class RedirectTests
{
    [Theory]
    [InlineData(301)]
    [InlineData(302)]
    [InlineData(307)]
    [InlineData(308)]
    public async Task A_redirect_is_not_followed_and_is_an_answer_that_is_not_a_broker_s(int status)
    {
        await using var elsewhere = await FlakyBroker.AnsweringAsync(Created);
        await using var redirecting = await RedirectingAsync(status, elsewhere.Url);
        using var client = new TestBrokerClient(redirecting.Url);

        var act = () => client.Client.SendAsync(QueueRef.ByName("orders"), "for the broker only");

        await ShouldBeRefusedAsync(act, status, elsewhere, redirecting);
    }

    [Theory]
    [InlineData(302)]
    [InlineData(307)]
    public async Task A_primary_handler_of_the_app_s_own_follows_no_redirect_either(int status)
    {
        await using var elsewhere = await FlakyBroker.AnsweringAsync(Created);
        await using var redirecting = await RedirectingAsync(status, elsewhere.Url);
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Broker:Url"] = redirecting.Url.ToString() })
            .Build());
        services.AddLogging();
        // Configured after AddBrokerClient, as an app setting a proxy or a client certificate would, with
        // HttpClientHandler's default of following redirects.
        services.AddBrokerClient().ConfigurePrimaryHttpMessageHandler(() => new HttpClientHandler());
        await using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<BrokerClient>().SendAsync(QueueRef.ByName("orders"), "for the broker only");

        await ShouldBeRefusedAsync(act, status, elsewhere, redirecting);
    }

    [Fact]
    public async Task A_redirect_followed_by_an_HttpClient_of_the_caller_s_own_is_not_taken_for_the_broker_s_answer()
    {
        await using var elsewhere = await FlakyBroker.AnsweringAsync(context =>
        {
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync("[]");
        });
        await using var redirecting = await RedirectingAsync(302, elsewhere.Url);
        using var http = new HttpClient { BaseAddress = redirecting.Url };

        var act = () => new BrokerClient(http).ListQueuesAsync();

        var thrown = (await act.Should().ThrowAsync<BrokerAnswerNotRecognizedException>()).Which;
        thrown.Detail.Should().Contain("redirect").And.Contain(elsewhere.Url.GetLeftPart(UriPartial.Authority)).And.Contain("Broker:Url");
    }

    private static async Task ShouldBeRefusedAsync(Func<Task> act, int status, FlakyBroker elsewhere, FlakyBroker redirecting)
    {
        var thrown = (await act.Should().ThrowAsync<BrokerAnswerNotRecognizedException>()).Which;
        thrown.Status.Should().Be(HttpStatusCode.BadGateway, "this app answers for whatever is at Broker:Url");
        thrown.Detail.Should().Contain(status.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .And.Contain(elsewhere.Url.GetLeftPart(UriPartial.Authority))
            .And.Contain("Broker:Url");
        elsewhere.Attempts.Should().Be(0, "the message goes nowhere but Broker:Url");
        redirecting.Attempts.Should().Be(1, "a redirect is no failure to retry");
    }

    private static Task<FlakyBroker> RedirectingAsync(int status, Uri to) =>
        FlakyBroker.AnsweringAsync(context =>
        {
            context.Response.StatusCode = status;
            context.Response.Headers.Location = new Uri(to, context.Request.Path.Value!.TrimStart('/')).ToString();
            return Task.CompletedTask;
        });

    private static Task Created(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status201Created;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync("""{"id":1}""");
    }
}
