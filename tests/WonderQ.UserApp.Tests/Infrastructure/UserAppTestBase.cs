using System.Net.Http.Json;
using WonderQ.Shared.Json;
using WonderQ.UserApp.Dispatch;
using WonderQ.UserApp.Listen;

namespace WonderQ.UserApp.Tests.Infrastructure;

/// <summary>A fresh broker (own temp database) and a UserApp pointed at it, for each test.</summary>
public abstract class UserAppTestBase : IAsyncLifetime
{
    protected KestrelBroker Broker { get; private set; } = null!;

    protected UserAppFactory App { get; private set; } = null!;

    protected HttpClient Http { get; private set; } = null!;

    protected TestBrokerClient BrokerClient { get; private set; } = null!;

    /// <summary>Settings for the UserApp on top of the test defaults.</summary>
    protected virtual IDictionary<string, string> Settings => new Dictionary<string, string>();

    /// <summary>The UserApp's clock, when a test moves time itself.</summary>
    protected virtual TimeProvider? Clock => null;

    public virtual async Task InitializeAsync()
    {
        Broker = await KestrelBroker.StartAsync();
        App = new UserAppFactory(Broker.Url, Settings, Clock);
        Http = App.CreateClient();
        BrokerClient = new TestBrokerClient(Broker.Url);
    }

    public virtual async Task DisposeAsync()
    {
        Http.Dispose();
        await App.DisposeAsync();
        BrokerClient.Dispose();
        await Broker.DisposeAsync();
    }

    protected async Task<DispatchResponse> DispatchAsync(object request)
    {
        using var response = await Http.PostAsJsonAsync("/dispatch", request, WonderQJson.Options);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<DispatchResponse>(WonderQJson.Options))!;
    }

    protected async Task<ListenerView[]> ListenersAsync() =>
        (await Http.GetFromJsonAsync<ListenerView[]>("/listeners", WonderQJson.Options))!;

    protected async Task<long> QueueSizeAsync(string name) =>
        (await BrokerClient.Client.ListQueuesAsync()).Single(q => q.Name == name).QueueSize;
}
