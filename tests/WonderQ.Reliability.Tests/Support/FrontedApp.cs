using System.Net;
using System.Net.Http.Json;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using WonderQ.Shared.Json;

namespace WonderQ.Reliability.Tests.Support;

/// <summary>The DevTool in front of a real broker.</summary>
public class DevToolInFront : FrontedApp
{
    public DevToolInFront()
        : this([], [])
    {
    }

    protected DevToolInFront(string[] brokerArgs, string[] appArgs)
        : base(brokerArgs, appArgs)
    {
    }

    protected override WebApplication CreateApp(string[] args) => WonderQ.DevTool.Program.CreateApp(args);
}

/// <summary>The UserApp in front of a real broker.</summary>
public class UserAppInFront : FrontedApp
{
    public UserAppInFront()
        : this([], [])
    {
    }

    protected UserAppInFront(string[] brokerArgs, string[] appArgs)
        : base(brokerArgs, appArgs)
    {
    }

    protected override WebApplication CreateApp(string[] args) => WonderQ.UserApp.Program.CreateApp(args);
}

/// <summary>The well-formed calls around the hostile ones: the app still does its job.</summary>
public static class FrontedAppApi
{
    /// <summary>DevTool: a queue is created, a message sent to it and seen in its peek, and the list answers.</summary>
    public static async Task DevToolShouldStillServeAsync(this HttpClient client)
    {
        var name = Json.UniqueQueueName("alive");
        using (var created = await client.PostAsJsonAsync("/queues", new { name }, WonderQJson.Options))
        {
            created.StatusCode.Should().Be(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        }

        var body = $"still serving {Guid.NewGuid()}";
        using (var sent = await client.PostAsJsonAsync("/messages", new { queue_name = name, body }, WonderQJson.Options))
        {
            sent.StatusCode.Should().Be(HttpStatusCode.Created, await sent.Content.ReadAsStringAsync());
        }

        using var peek = await client.GetAsync($"/queues/{name}?size=10");
        var text = await peek.Content.ReadAsStringAsync();
        peek.StatusCode.Should().Be(HttpStatusCode.OK, text);
        text.Should().Contain(body);

        using var list = await client.GetAsync("/queues");
        list.StatusCode.Should().Be(HttpStatusCode.OK, await list.Content.ReadAsStringAsync());
    }

    /// <summary>UserApp: a dispatch to a fresh queue name creates it and its message, and the listener list answers.</summary>
    public static async Task UserAppShouldStillServeAsync(this HttpClient client)
    {
        var name = Json.UniqueQueueName("alive");
        using var dispatched = await client.PostAsJsonAsync("/dispatch", new { queue_name = name, body = "still serving" }, WonderQJson.Options);
        var text = await dispatched.Content.ReadAsStringAsync();
        dispatched.StatusCode.Should().Be(HttpStatusCode.OK, text);
        var json = System.Text.Json.JsonDocument.Parse(text).RootElement;
        json.GetProperty("messages").GetArrayLength().Should().Be(1, text);

        using var listeners = await client.GetAsync("/listeners");
        listeners.StatusCode.Should().Be(HttpStatusCode.OK, await listeners.Content.ReadAsStringAsync());
    }
}
