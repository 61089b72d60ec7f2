using System.Net;
using WonderQ.Broker.Queues;
using WonderQ.Broker.Storage;
using WonderQ.Shared.Contracts;

namespace WonderQ.Broker.Tests.Queues;

/// <summary>
/// A peek answers with an entity tag, and an If-None-Match that still holds gets a 304 and no bodies: the dashboard
/// polls the open queue every second, and the messages are what changes least often.
/// </summary>
public class PeekRevalidationTests(SharedBroker broker) : IClassFixture<SharedBroker>
{
    private readonly HttpClient _client = broker.Client;

    [Fact]
    public async Task A_peek_is_tagged_and_the_tag_is_answered_304_without_a_body_while_nothing_changes()
    {
        var queue = await _client.CreateQueueAsync();
        await _client.SendAsync(queue.Id, "one");
        await _client.SendAsync(queue.Id, "two");

        using var first = await _client.GetAsync($"/queues/{queue.Id}/messages");
        using var again = await PeekAsync(queue.Id, first.Headers.ETag!.ToString());

        first.StatusCode.Should().Be(HttpStatusCode.OK);
        first.Headers.CacheControl!.NoCache.Should().BeTrue("the next send or claim changes the answer");
        first.Headers.CacheControl.Private.Should().BeTrue("a proxy between the broker and its clients must not keep the message bodies");
        again.StatusCode.Should().Be(HttpStatusCode.NotModified);
        again.Headers.CacheControl!.Private.Should().BeTrue();
        (await again.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
        again.Headers.ETag.Should().Be(first.Headers.ETag);
    }

    [Fact]
    public async Task A_send_a_claim_a_claim_after_the_timeout_and_a_delete_each_answer_in_full_with_a_new_tag()
    {
        var queue = await _client.CreateQueueAsync();
        await _client.SendAsync(queue.Id, "first");
        var tags = new List<string> { await TagAsync(queue.Id) };

        async Task ShouldBeAnsweredInFull(string change, Action<MessageDto[]> check)
        {
            using var response = await PeekAsync(queue.Id, tags[^1]);
            response.StatusCode.Should().Be(HttpStatusCode.OK, $"the messages changed: {change}");
            check(await response.ReadAsync<MessageDto[]>());
            tags.Add(response.Headers.ETag!.ToString());
        }

        await _client.SendAsync(queue.Id, "second");
        await ShouldBeAnsweredInFull("a send", m => m.Select(x => x.Body).Should().Equal("first", "second"));

        var claimed = (await _client.ConsumeAsync(queue.Id, visibilityTimeout: 0)).Single();
        await ShouldBeAnsweredInFull("a claim", m => m[0].ReservationToken.Should().Be(claimed.ReservationToken));

        // A timeout of 0 has run out at once, so the same message is claimed again, under a new token.
        var reclaimed = (await _client.ConsumeAsync(queue.Id, visibilityTimeout: 300)).Single();
        reclaimed.Id.Should().Be(claimed.Id);
        await ShouldBeAnsweredInFull("a second claim", m => m[0].ReservationToken.Should().Be(reclaimed.ReservationToken));

        (await _client.DeleteMessageAsync(reclaimed.Id, reclaimed.ReservationToken)).EnsureSuccessStatusCode();
        await ShouldBeAnsweredInFull("a delete", m => m.Select(x => x.Body).Should().Equal("second"));

        tags.Should().OnlyHaveUniqueItems();
    }

    [Fact]
    public async Task A_message_beyond_the_ones_asked_for_leaves_the_tag_standing()
    {
        var queue = await _client.CreateQueueAsync();
        await _client.SendAsync(queue.Id, "the oldest");
        var tag = await TagAsync(queue.Id, size: 1);

        await _client.SendAsync(queue.Id, "behind it");
        using var response = await PeekAsync(queue.Id, tag, size: 1);

        response.StatusCode.Should().Be(HttpStatusCode.NotModified);
    }

    [Theory]
    [InlineData("*")]
    [InlineData("\"elsewhere\", TAG")]
    [InlineData("W/TAG")]
    public async Task If_none_match_takes_a_list_a_weak_tag_and_a_star(string header)
    {
        var queue = await _client.CreateQueueAsync();
        await _client.SendAsync(queue.Id, "m");
        var tag = await TagAsync(queue.Id);

        using var response = await PeekAsync(queue.Id, header.Replace("TAG", tag, StringComparison.Ordinal));

        response.StatusCode.Should().Be(HttpStatusCode.NotModified);
    }

    [Theory]
    [InlineData("\"not-the-tag\"")]
    [InlineData("no quotes, not a tag")]
    public async Task Another_or_an_unreadable_tag_gets_the_full_answer(string header)
    {
        var queue = await _client.CreateQueueAsync();
        await _client.SendAsync(queue.Id, "m");

        using var response = await PeekAsync(queue.Id, header);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.ReadAsync<MessageDto[]>()).Should().ContainSingle().Which.Body.Should().Be("m");
    }

    [Fact]
    public async Task A_tag_for_a_queue_that_is_gone_is_a_404()
    {
        var queue = await _client.CreateQueueAsync();
        var tag = await TagAsync(queue.Id);
        (await _client.DeleteAsync($"/queues/{queue.Id}")).EnsureSuccessStatusCode();

        using var response = await PeekAsync(queue.Id, tag);

        await response.ShouldBeProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public void A_message_of_a_database_started_afresh_is_not_taken_for_the_one_that_had_its_id()
    {
        var before = new MessageVersion(1, DateTimeOffset.FromUnixTimeMilliseconds(1_000), null, 0);
        var afresh = before with { CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(2_000) };

        PeekETag.Of([afresh]).Should().NotBe(PeekETag.Of([before]));
        PeekETag.Of([before]).Should().Be(PeekETag.Of([before with { }]), "the tag is of the versions, not of the objects");
    }

    private async Task<HttpResponseMessage> PeekAsync(long queueId, string ifNoneMatch, int size = 10)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/queues/{queueId}/messages?size={size}");
        request.Headers.TryAddWithoutValidation("If-None-Match", ifNoneMatch);
        return await _client.SendAsync(request);
    }

    private async Task<string> TagAsync(long queueId, int size = 10)
    {
        using var response = await _client.GetAsync($"/queues/{queueId}/messages?size={size}");
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        return response.Headers.ETag!.ToString();
    }
}

/// <summary>The same on PostgreSQL: the contract both stores keep.</summary>
public sealed class PeekRevalidationOnPostgresTests(PostgresSharedBroker broker) : PeekRevalidationTests(broker), IClassFixture<PostgresSharedBroker>;
