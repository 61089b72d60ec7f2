using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using WonderQ.Broker.Infrastructure;

namespace WonderQ.Broker.Tests.Infrastructure;

/// <summary>
/// The collection a broker runs once it has gone idle, driven on a fake clock with the runtime's collector stood in for:
/// what the real one frees cannot be asserted, when it is asked to run can.
/// </summary>
public sealed class IdleMemoryReleaseTests : IAsyncLifetime
{
    private const long MB = 1024 * 1024;
    private static readonly TimeSpan _interval = TimeSpan.FromMinutes(1);

    private readonly FakeTimeProvider _clock = new();
    private readonly Collector _gc = new();
    private readonly Lines _log = new();
    private IdleMemoryRelease? _release;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_release is not null)
        {
            // Stops promptly and quietly, as the host stops it.
            await _release.StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
            _release.ExecuteTask!.IsCompletedSuccessfully.Should().BeTrue();
        }
    }

    [Fact]
    public async Task A_broker_gone_idle_collects_once_and_says_what_it_gave_back()
    {
        _gc.Held = 277 * MB;
        _gc.HeldAfterCollect = 12 * MB;
        await StartAsync();

        await TickAsync(expectCollect: true);

        _gc.Collected.Should().Be(1);
        _log.Entries.Should().ContainSingle().Which.Should().Contain("00:01:00").And.Contain("from 277 MB to 12 MB");

        await TickAsync();
        await TickAsync();
        _gc.Collected.Should().Be(1, "an idle broker is collected once");
    }

    [Fact]
    public async Task It_collects_again_only_once_the_runtime_has_collected_on_its_own_since()
    {
        _gc.Held = 200 * MB;
        _gc.HeldAfterCollect = 100 * MB;
        await StartAsync();
        await TickAsync(expectCollect: true);

        // However much the heap seems to hold: nothing ran, so nothing changed.
        _gc.Held = 300 * MB;
        await TickAsync();
        await TickAsync();
        _gc.Collected.Should().Be(1);

        _gc.RuntimeCollects(3);
        await TickAsync();
        _gc.Collected.Should().Be(1, "the runtime collected during that interval: the broker was not idle");

        await TickAsync(expectCollect: true);
        _gc.Collected.Should().Be(2);
    }

    [Fact]
    public async Task A_heap_that_stays_large_because_it_is_live_is_not_compacted_again_after_each_collection_a_trickle_brings()
    {
        // Thousands of idle keep-alive connections: the collection frees little, and a few requests a minute bring a
        // collection of the runtime's own now and then.
        _gc.Held = 200 * MB;
        _gc.HeldAfterCollect = 180 * MB;
        await StartAsync();
        await TickAsync(expectCollect: true);

        await TrickleAsync(heldAfter: 243 * MB);
        _gc.Collected.Should().Be(1, "63 MB more than the last collection left is less than the setting's 64");

        await TrickleAsync(heldAfter: 244 * MB, expectCollect: true);
        _gc.Collected.Should().Be(2);
    }

    [Fact]
    public async Task A_broker_that_keeps_collecting_on_its_own_is_left_alone()
    {
        _gc.Held = 250 * MB;
        await StartAsync();

        for (var i = 0; i < 5; i++)
        {
            _gc.RuntimeCollects(1);
            await TickAsync();
        }

        _gc.Collected.Should().Be(0);
        _log.Entries.Should().BeEmpty();
    }

    [Fact]
    public async Task Less_committed_than_the_setting_is_not_worth_a_pause()
    {
        _gc.Held = 63 * MB;
        await StartAsync();

        await TickAsync();
        await TickAsync();

        _gc.Collected.Should().Be(0);
    }

    [Fact]
    public async Task Zero_never_collects()
    {
        _gc.Held = 500 * MB;
        await StartAsync(TimeSpan.Zero);

        // BackgroundService runs it on the thread pool: done, and without a timer.
        await _release!.ExecuteTask!.WaitAsync(TimeSpan.FromSeconds(5));
        _clock.Advance(TimeSpan.FromDays(2));

        _gc.Reads.CurrentCount.Should().Be(0, "nothing is watched");
        _gc.Collected.Should().Be(0);
    }

    private async Task StartAsync(TimeSpan? after = null)
    {
        var options = Options.Create(new MemoryOptions { IdleCollectAfter = after ?? _interval, IdleCollectMinBytes = 64 * MB });
        _release = new IdleMemoryRelease(options, _clock, _log) { ReadGc = _gc.Read, Collect = _gc.Collect };
        await _release.StartAsync(CancellationToken.None);
        if (after != TimeSpan.Zero)
        {
            // Its first look, to compare the first interval's end with.
            (await _gc.Reads.WaitAsync(TimeSpan.FromSeconds(5))).Should().BeTrue();
        }
    }

    /// <summary>An interval in which the runtime collects, leaving the heap at <paramref name="heldAfter"/>, then a quiet one.</summary>
    private async Task TrickleAsync(long heldAfter, bool expectCollect = false)
    {
        _gc.RuntimeCollects(1);
        _gc.Held = heldAfter;
        await TickAsync();
        await TickAsync(expectCollect);
    }

    /// <summary>One interval passes, and the service has looked (and, after a collection, looked again).</summary>
    private async Task TickAsync(bool expectCollect = false)
    {
        _clock.Advance(_interval);
        for (var i = 0; i < (expectCollect ? 2 : 1); i++)
        {
            (await _gc.Reads.WaitAsync(TimeSpan.FromSeconds(5))).Should().BeTrue("the service looks once a tick, and again after it collects");
        }

        if (expectCollect)
        {
            (await _log.Written.WaitAsync(TimeSpan.FromSeconds(5))).Should().BeTrue("a collection is logged");
        }

        // A look that was not expected (a collection, read afterwards) would be left over.
        await Task.Delay(20);
        _gc.Reads.CurrentCount.Should().Be(0);
    }

    private sealed class Collector
    {
        private int _collections = 7;

        public long Held { get; set; }

        public long HeldAfterCollect { get; set; }

        public int Collected { get; private set; }

        public SemaphoreSlim Reads { get; } = new(0);

        public void RuntimeCollects(int times) => Interlocked.Add(ref _collections, times);

        public (int Collections, long HeldBytes) Read()
        {
            var state = (Volatile.Read(ref _collections), Held);
            Reads.Release();
            return state;
        }

        public void Collect()
        {
            Collected++;
            // A full collection counts as one of every generation.
            Interlocked.Increment(ref _collections);
            Held = HeldAfterCollect;
        }
    }

    private sealed class Lines : ILogger<IdleMemoryRelease>
    {
        public List<string> Entries { get; } = [];

        public SemaphoreSlim Written { get; } = new(0);

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            Entries.Add(formatter(state, exception));
            Written.Release();
        }
    }
}
