using System.Net;
using Dapper;
using Npgsql;
using WonderQ.Broker.Tests.Storage.Postgres;
using WonderQ.Shared.Contracts;

namespace WonderQ.Broker.Tests.Queues;

/// <summary>Limits:MaxQueues: past it a create is refused until a queue is deleted, and no two creates pass it together.</summary>
public class QueueLimitTests : FreshBroker
{
    protected static readonly Dictionary<string, string> ThreeQueues = new() { ["Limits:MaxQueues"] = "3" };

    public QueueLimitTests()
        : base(new BrokerApplication(systemClock: true, settings: ThreeQueues))
    {
    }

    protected QueueLimitTests(BrokerApplication app)
        : base(app)
    {
    }

    [Fact]
    public async Task A_create_past_the_limit_is_a_422_naming_the_setting_and_stores_nothing()
    {
        for (var i = 0; i < 3; i++)
        {
            await Client.CreateQueueAsync();
        }

        using var refused = await Client.PostAsync("/queues", Wire.Json(new CreateQueueRequest("one-too-many")));

        var problem = await refused.ShouldBeProblemAsync(HttpStatusCode.UnprocessableEntity);
        problem.GetProperty("detail").GetString().Should().Contain("the most queues Limits:MaxQueues allows (3)");
        problem.GetProperty("type").GetString().Should().Be("https://tools.ietf.org/html/rfc9110#section-15.5.21");
        using var found = await Client.GetAsync("/queues/find?name=one-too-many");
        found.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await QueuesAsync()).Should().HaveCount(3);
    }

    [Fact]
    public async Task At_the_limit_a_taken_name_is_still_told_it_is_taken()
    {
        var first = await Client.CreateQueueAsync();
        await Client.CreateQueueAsync();
        await Client.CreateQueueAsync();

        using var again = await Client.PostAsync("/queues", Wire.Json(new CreateQueueRequest(first.Name)));

        var problem = await again.ShouldBeProblemAsync(HttpStatusCode.Conflict);
        problem.GetProperty("detail").GetString().Should().Contain("already exists");
    }

    [Fact]
    public async Task A_deleted_queue_makes_room_for_another()
    {
        var first = await Client.CreateQueueAsync();
        await Client.CreateQueueAsync();
        await Client.CreateQueueAsync();
        (await Client.DeleteAsync($"/queues/{first.Id}")).EnsureSuccessStatusCode();

        using var created = await Client.PostAsync("/queues", Wire.Json(new CreateQueueRequest("in-its-place")));

        created.StatusCode.Should().Be(HttpStatusCode.Created);
    }

    [Fact]
    public async Task Creates_at_once_make_no_more_queues_than_the_limit()
    {
        var names = Enumerable.Range(0, 20).Select(i => Wire.UniqueQueueName($"burst{i}")).ToArray();

        var answers = await Task.WhenAll(names.Select(async name =>
        {
            using var response = await Client.PostAsync("/queues", Wire.Json(new CreateQueueRequest(name)));
            return response.StatusCode;
        }));

        answers.Count(s => s == HttpStatusCode.Created).Should().Be(3);
        answers.Count(s => s == HttpStatusCode.UnprocessableEntity).Should().Be(17);
        (await QueuesAsync()).Should().HaveCount(3);
    }

    protected async Task<QueueCounts[]> QueuesAsync()
    {
        using var response = await Client.GetAsync("/queues");
        return await response.ReadAsync<QueueCounts[]>();
    }
}

/// <summary>
/// The same on PostgreSQL, where creates run on connections of their own at once, through any number of brokers: they
/// take turns under a lock, so their counts cannot each find room for the last queue.
/// </summary>
public sealed class QueueLimitOnPostgresTests() : QueueLimitTests(BrokerApplication.OnPostgres(systemClock: true, settings: ThreeQueues))
{
    [Fact]
    public async Task Creates_at_once_through_two_brokers_make_no_more_queues_than_the_limit()
    {
        await using var other = BrokerApplication.OnPostgres(App.PostgresConnectionString, systemClock: true, settings: ThreeQueues);
        using var otherClient = other.CreateClient();
        var clients = new[] { Client, otherClient };

        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(async i =>
        {
            using var response = await clients[i % 2].PostAsync("/queues", Wire.Json(new CreateQueueRequest(Wire.UniqueQueueName($"two{i}"))));
            return response.StatusCode;
        }));

        answers.Count(s => s == HttpStatusCode.Created).Should().Be(3);
        (await QueuesAsync()).Should().HaveCount(3);
    }

    /// <summary>
    /// The creates' lock is held only while the server runs a create, never across the broker's round trips: held so, a
    /// broker paused in the middle of its create (a long GC, a frozen VM, a network that drops its packets) held up every
    /// other broker's creates until their pools' timeouts.
    /// </summary>
    [Fact]
    public async Task A_broker_cut_off_in_the_middle_of_its_create_holds_up_no_other_brokers_creates()
    {
        // Arrange: a second broker reaches the server through a link the test silences once its create has taken the
        // lock and waits on the table, which the test holds.
        await using var link = new SilentLink(App.PostgresConnectionString!);
        await using var cutOff = BrokerApplication.OnPostgres(link.ConnectionString, systemClock: true, settings: ThreeQueues);
        using var cutOffClient = cutOff.CreateClient();
        await using var table = new NpgsqlConnection(App.PostgresConnectionString);
        await table.OpenAsync();
        await using var holding = await table.BeginTransactionAsync();
        await table.ExecuteAsync("LOCK TABLE queues IN SHARE MODE", transaction: holding);
        var stalled = cutOffClient.PostAsync("/queues", Wire.Json(new CreateQueueRequest("cut-off")));
        await using var watcher = new NpgsqlConnection(App.PostgresConnectionString);
        await watcher.OpenAsync();
        await Eventually.TrueAsync(
            async () => await watcher.ExecuteScalarAsync<long>("SELECT count(*) FROM pg_locks WHERE relation = 'queues'::regclass AND NOT granted") > 0,
            "the cut-off broker's create waits on the table");
        link.Silence();
        await holding.CommitAsync();

        try
        {
            // Act
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            using var created = await Client.PostAsync("/queues", Wire.Json(new CreateQueueRequest("not-held-up")), timeout.Token);

            // Assert
            created.StatusCode.Should().Be(HttpStatusCode.Created);
        }
        finally
        {
            link.Resume();
            (await stalled).Dispose();
        }
    }
}
