using System.Net;
using Microsoft.Extensions.Time.Testing;
using WonderQ.Shared.Contracts;

namespace WonderQ.Broker.Tests.Messages;

/// <summary>Consume without waiting: the claim, its parameters and their limits, and the order messages come in.</summary>
public class ConsumeTests(SharedBroker broker) : IClassFixture<SharedBroker>
{
    private HttpClient Client => broker.Client;

    private FakeTimeProvider Clock => broker.App.FakeClock;

    [Fact]
    public async Task Consume_claims_a_message_with_a_token_and_a_visibility_deadline()
    {
        var queue = await Client.CreateQueueAsync();
        var id = await Client.SendAsync(queue.Id, "work");
        var now = Clock.GetUtcNow();

        using var response = await Client.ConsumeResponseAsync(queue.Id, visibilityTimeout: 45);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var json = (await response.ReadJsonAsync()).EnumerateArray().Should().ContainSingle().Subject;
        json.PropertyNames().Should().BeEquivalentTo(
            "id", "queue_id", "body", "created_at", "retrievable_at", "reservation_token", "receive_count");
        var message = (await response.ReadAsync<MessageDto[]>()).Single();
        message.Id.Should().Be(id);
        message.Body.Should().Be("work");
        message.ReceiveCount.Should().Be(1);
        message.ReservationToken.Should().NotBeNullOrWhiteSpace();
        message.RetrievableAt.Should().Be(now.AddSeconds(45));
    }

    [Theory]
    [InlineData("cross-site")]
    [InlineData("same-site")]
    [InlineData("Same-Site")]
    public async Task Consume_asked_for_by_another_origin_s_page_is_a_403_that_claims_nothing(string site)
    {
        // A broker without keys on localhost is reached by any page its user opens, through an image, say; a page served
        // from another port of this machine (a dev server, another app's dashboard) is same-site to the browser.
        var queue = await Client.CreateQueueAsync();
        await Client.SendAsync(queue.Id, "not yours");
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/messages/consume?queue_id={queue.Id}&wait_time=0");
        request.Headers.Add("Sec-Fetch-Site", site);

        using var response = await Client.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        (await Client.PeekAsync(queue.Id)).Should().ContainSingle().Which.ReceiveCount.Should().Be(0);
    }

    [Theory]
    [InlineData("evil.example", HttpStatusCode.BadRequest)]
    [InlineData("evil.example:3213", HttpStatusCode.BadRequest)]
    [InlineData("localhost:3213", HttpStatusCode.OK)]
    [InlineData("127.0.0.1:3213", HttpStatusCode.OK)]
    [InlineData("[::1]:3213", HttpStatusCode.OK)]
    public async Task A_consume_addressed_to_a_name_other_than_this_machine_s_claims_nothing(string host, HttpStatusCode expected)
    {
        // A page whose own name is pointed at 127.0.0.1 (DNS rebinding) is same-origin to the browser, so no
        // Sec-Fetch-Site gives it away: only the name it sends as Host does.
        var queue = await Client.CreateQueueAsync();
        await Client.SendAsync(queue.Id, "not yours");
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/messages/consume?queue_id={queue.Id}&wait_time=0");
        request.Headers.Host = host;
        request.Headers.Add("Sec-Fetch-Site", "same-origin");

        using var response = await Client.SendAsync(request);

        response.StatusCode.Should().Be(expected);
        if (expected == HttpStatusCode.BadRequest)
        {
            response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
            (await response.Content.ReadAsStringAsync()).Should().Contain("AllowedHosts");
        }

        (await Client.PeekAsync(queue.Id)).Should().ContainSingle().Which.ReceiveCount.Should().Be(expected == HttpStatusCode.OK ? 1 : 0);
    }

    [Theory]
    [InlineData("/healthz")]
    [InlineData("/queues")]
    [InlineData("/queues/{queue}/messages")]
    public async Task A_read_asked_for_by_another_site_s_page_is_answered_as_only_a_consume_claims(string path)
    {
        // A status page elsewhere may link to the health check or a peek: they change nothing, so they are no one's to refuse.
        var queue = await Client.CreateQueueAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, path.Replace("{queue}", queue.Name, StringComparison.Ordinal));
        request.Headers.Add("Sec-Fetch-Site", "cross-site");

        using var response = await Client.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Consume_by_queue_name_claims_from_that_queue()
    {
        var queue = await Client.CreateQueueAsync();
        await Client.SendAsync(queue.Id, "named");

        using var response = await Client.GetAsync($"/messages/consume?queue_name={queue.Name}&wait_time=0");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.ReadAsync<MessageDto[]>()).Should().ContainSingle().Which.Body.Should().Be("named");
    }

    [Fact]
    public async Task Consume_takes_one_message_by_default()
    {
        var queue = await Client.CreateQueueAsync();
        await Client.SendAsync(queue.Id, "a");
        await Client.SendAsync(queue.Id, "b");

        using var response = await Client.GetAsync($"/messages/consume?queue_id={queue.Id}&wait_time=0");

        (await response.ReadAsync<MessageDto[]>()).Should().ContainSingle();
    }

    [Fact]
    public async Task Consume_uses_a_30_second_visibility_timeout_by_default()
    {
        var queue = await Client.CreateQueueAsync();
        await Client.SendAsync(queue.Id, "a");
        var now = Clock.GetUtcNow();

        using var response = await Client.GetAsync($"/messages/consume?queue_id={queue.Id}&wait_time=0");

        (await response.ReadAsync<MessageDto[]>()).Single().RetrievableAt.Should().Be(now.AddSeconds(30));
    }

    [Fact]
    public async Task Consume_returns_up_to_size_messages_under_one_token()
    {
        var queue = await Client.CreateQueueAsync();
        for (var i = 0; i < 5; i++)
        {
            await Client.SendAsync(queue.Id, $"m{i}");
        }

        var batch = await Client.ConsumeAsync(queue.Id, size: 3);

        batch.Should().HaveCount(3);
        batch.Select(m => m.ReservationToken).Distinct().Should().ContainSingle();
        (await Client.ConsumeAsync(queue.Id, size: 10)).Should().HaveCount(2);
    }

    [Fact]
    public async Task Consume_returns_empty_at_once_when_wait_time_is_zero()
    {
        var queue = await Client.CreateQueueAsync();

        // The fake clock stands still: a consumer that waited at all would never be answered.
        var messages = await Client.ConsumeAsync(queue.Id, waitTime: 0).WaitAsync(TimeSpan.FromSeconds(5));

        messages.Should().BeEmpty();
    }

    [Fact]
    public async Task Consume_returns_the_oldest_message_first()
    {
        var queue = await Client.CreateQueueAsync();
        var ids = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await Client.SendAsync(queue.Id, $"m{i}"));
            Clock.Advance(TimeSpan.FromMilliseconds(10));
        }

        var first = await Client.ConsumeAsync(queue.Id, size: 2);
        var rest = await Client.ConsumeAsync(queue.Id, size: 10);

        first.Select(m => m.Id).Concat(rest.Select(m => m.Id)).Should().Equal(ids);
    }

    [Fact]
    public async Task Consume_orders_messages_sent_in_the_same_millisecond_by_id()
    {
        var queue = await Client.CreateQueueAsync();
        var ids = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await Client.SendAsync(queue.Id, $"m{i}"));
        }

        var batch = await Client.ConsumeAsync(queue.Id, size: 5);

        batch.Select(m => m.Id).Should().Equal(ids);
    }

    [Fact]
    public async Task Reservations_that_expire_in_the_same_millisecond_rejoin_in_id_order()
    {
        var queue = await Client.CreateQueueAsync();
        var ids = new List<long>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add(await Client.SendAsync(queue.Id, $"m{i}"));
        }

        (await Client.ConsumeAsync(queue.Id, size: 4, visibilityTimeout: 5)).Should().HaveCount(4);
        Clock.Advance(TimeSpan.FromSeconds(6));
        var later = await Client.SendAsync(queue.Id, "sent after they expired");

        var batch = await Client.ConsumeAsync(queue.Id, size: 5);

        batch.Select(m => m.Id).Should().Equal([.. ids, later], "one batch's reservations run out together, ties broken by id");
        batch.Take(4).Should().OnlyContain(m => m.ReceiveCount == 2);
    }

    [Fact]
    public async Task An_expired_reservation_rejoins_the_queue_at_its_expiry_time()
    {
        var queue = await Client.CreateQueueAsync();
        var a = await Client.SendAsync(queue.Id, "A, claimed until t+5s");
        (await Client.ConsumeAsync(queue.Id, visibilityTimeout: 5)).Single().Id.Should().Be(a);
        Clock.Advance(TimeSpan.FromSeconds(2));
        var b = await Client.SendAsync(queue.Id, "B, sent at t+2s");
        Clock.Advance(TimeSpan.FromSeconds(8));
        var c = await Client.SendAsync(queue.Id, "C, sent at t+10s");

        var batch = await Client.ConsumeAsync(queue.Id, size: 3);

        batch.Select(m => m.Id).Should().Equal([b, a, c], "A became retrievable again at t+5s, between B and C");
    }

    [Fact]
    public async Task Consume_does_not_take_from_other_queues()
    {
        var mine = await Client.CreateQueueAsync();
        var other = await Client.CreateQueueAsync();
        await Client.SendAsync(other.Id, "not mine");

        var messages = await Client.ConsumeAsync(mine.Id, size: 10);

        messages.Should().BeEmpty();
    }

    [Theory]
    [InlineData("queue_id=999999999")]
    [InlineData("queue_name=no-such-queue-to-consume")]
    public async Task Consume_from_an_unknown_queue_returns_404(string queue)
    {
        using var response = await Client.GetAsync($"/messages/consume?{queue}&wait_time=0");

        await response.ShouldBeProblemAsync(HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(20)]
    public async Task Consume_with_an_id_and_a_name_of_different_queues_returns_404_and_claims_nothing(int waitTime)
    {
        var one = await Client.CreateQueueAsync();
        var other = await Client.CreateQueueAsync();
        await Client.SendAsync(one.Id, "in the queue of the id");
        await Client.SendAsync(other.Id, "in the queue of the name");

        using var response = await Client.GetAsync($"/messages/consume?queue_id={one.Id}&queue_name={other.Name}&wait_time={waitTime}");

        await response.ShouldBeProblemAsync(HttpStatusCode.NotFound);
        (await Client.PeekAsync(one.Id)).Should().ContainSingle().Which.ReceiveCount.Should().Be(0);
        (await Client.PeekAsync(other.Id)).Should().ContainSingle().Which.ReceiveCount.Should().Be(0);
    }

    [Theory]
    [InlineData("size=0", "size", "from 1 to 100")]
    [InlineData("size=101", "size", "from 1 to 100")]
    [InlineData("size=many", "size", "from 1 to 100")]
    [InlineData("wait_time=-1", "wait_time", "from 0 to 20")]
    [InlineData("wait_time=21", "wait_time", "from 0 to 20")]
    [InlineData("wait_time=1.5", "wait_time", "from 0 to 20")]
    [InlineData("visibility_timeout=-1", "visibility_timeout", "from 0 to 43200")]
    [InlineData("visibility_timeout=43201", "visibility_timeout", "from 0 to 43200")]
    public async Task Consume_with_a_parameter_out_of_range_returns_400_naming_the_limit(string parameter, string field, string limit)
    {
        var queue = await Client.CreateQueueAsync();

        using var response = await Client.GetAsync($"/messages/consume?queue_id={queue.Id}&{parameter}");

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        problem.ErrorsFor(field).Should().ContainSingle().Which.Should().Contain(limit);
    }

    [Theory]
    [InlineData("size=1&wait_time=0&visibility_timeout=0")]
    [InlineData("size=100&wait_time=0&visibility_timeout=43200")]
    public async Task Consume_accepts_parameters_at_their_limits(string parameters)
    {
        var queue = await Client.CreateQueueAsync();

        using var response = await Client.GetAsync($"/messages/consume?queue_id={queue.Id}&{parameters}");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("", "queue_id")]
    [InlineData("queue_id=abc", "queue_id")]
    [InlineData("queue_id=0", "queue_id")]
    [InlineData("queue_name=123", "queue_name")]
    [InlineData("queue_name=bad!name", "queue_name")]
    public async Task Consume_without_a_valid_queue_returns_400_keyed_by_wire_name(string query, string field)
    {
        using var response = await Client.GetAsync($"/messages/consume?{query}&wait_time=0");

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        problem.ErrorsFor(field).Should().NotBeEmpty();
    }
}

/// <summary>The same on PostgreSQL: the contract both stores keep.</summary>
public sealed class ConsumeOnPostgresTests(PostgresSharedBroker broker) : ConsumeTests(broker), IClassFixture<PostgresSharedBroker>;
