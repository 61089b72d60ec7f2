using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using WonderQ.Broker.Messages;

namespace WonderQ.Broker.Tests;

/// <summary>
/// A broker of its own for every test (xunit makes a new instance per test): for tests that move the clock or
/// count waiting consumers, which must not see another test's.
/// </summary>
public abstract class FreshBroker : IAsyncLifetime
{
    protected FreshBroker()
        : this(new BrokerApplication())
    {
    }

    /// <param name="app">A broker set up otherwise (the real clock, a clock of the test's own).</param>
    protected FreshBroker(BrokerApplication app) => App = app;

    protected BrokerApplication App { get; }

    protected HttpClient Client { get; private set; } = null!;

    protected FakeTimeProvider Clock => App.FakeClock;

    protected WaitingConsumers Waiters => App.Services.GetRequiredService<WaitingConsumers>();

    public Task InitializeAsync()
    {
        Client = App.CreateClient();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await App.DisposeAsync();
    }

    /// <summary>Waits (real time, briefly) until <paramref name="count"/> consumers are parked in a long poll.</summary>
    protected Task WaitingConsumersAsync(int count) =>
        Eventually.TrueAsync(() => App.WaitingConsumerCount >= count, $"{count} consumer(s) wait");

    /// <summary>Waits until <paramref name="count"/> consumers are asleep on the queue, past their own claims: only then can a publish claim for them.</summary>
    protected Task AsleepAsync(long queueId, int count = 1) =>
        Eventually.TrueAsync(() => Waiters.AsleepOn(queueId) == count, $"{count} consumer(s) asleep on the queue");

    /// <summary>
    /// Advances the fake clock by <paramref name="by"/> and returns the pending answer. Should the answer not come
    /// (the consumer armed its timer a moment after the jump), nudges the clock a second at a time, briefly.
    /// </summary>
    protected async Task<T> AdvanceUntilAnsweredAsync<T>(Task<T> pending, TimeSpan by)
    {
        Clock.Advance(by);
        for (var nudge = 0; nudge < 5 && await Task.WhenAny(pending, Task.Delay(TimeSpan.FromSeconds(1))) != pending; nudge++)
        {
            Clock.Advance(TimeSpan.FromSeconds(1));
        }

        (await Task.WhenAny(pending, Task.Delay(TimeSpan.FromSeconds(5)))).Should().BeSameAs(pending, "the consumer should have been answered");
        return await pending;
    }
}
