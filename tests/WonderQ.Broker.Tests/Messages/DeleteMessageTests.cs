using System.Net;
using Microsoft.Extensions.Time.Testing;

namespace WonderQ.Broker.Tests.Messages;

public class DeleteMessageTests(SharedBroker broker) : IClassFixture<SharedBroker>
{
    private HttpClient Client => broker.Client;

    private FakeTimeProvider Clock => broker.App.FakeClock;

    [Fact]
    public async Task Delete_with_the_current_token_returns_200_and_removes_the_message()
    {
        var queue = await Client.CreateQueueAsync();
        await Client.SendAsync(queue.Id, "done");
        var claimed = (await Client.ConsumeAsync(queue.Id)).Single();

        using var response = await Client.DeleteMessageAsync(claimed.Id, claimed.ReservationToken);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.ReadJsonAsync()).GetRawText().Should().Be("""{"success":true}""");
        (await Client.PeekAsync(queue.Id)).Should().BeEmpty();
    }

    [Fact]
    public async Task Delete_without_a_token_removes_the_message()
    {
        var queue = await Client.CreateQueueAsync();
        var id = await Client.SendAsync(queue.Id, "never consumed");

        using var response = await Client.DeleteMessageAsync(id);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await Client.PeekAsync(queue.Id)).Should().BeEmpty();
    }

    [Fact]
    public async Task Delete_with_a_stale_token_after_someone_reclaimed_returns_409()
    {
        var queue = await Client.CreateQueueAsync();
        await Client.SendAsync(queue.Id, "handed on");
        var first = (await Client.ConsumeAsync(queue.Id, visibilityTimeout: 30)).Single();
        Clock.Advance(TimeSpan.FromSeconds(31));
        var second = (await Client.ConsumeAsync(queue.Id, visibilityTimeout: 30)).Single();

        using var response = await Client.DeleteMessageAsync(first.Id, first.ReservationToken);

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.Conflict);
        problem.GetProperty("detail").GetString().Should().Contain("reservation_token");
        (await Client.PeekAsync(queue.Id)).Should().ContainSingle().Which.ReservationToken.Should().Be(second.ReservationToken);
    }

    [Fact]
    public async Task Delete_with_the_latest_token_after_the_timeout_ran_out_but_no_reclaim_returns_200()
    {
        var queue = await Client.CreateQueueAsync();
        await Client.SendAsync(queue.Id, "slow worker");
        var claimed = (await Client.ConsumeAsync(queue.Id, visibilityTimeout: 30)).Single();
        Clock.Advance(TimeSpan.FromSeconds(60));

        using var response = await Client.DeleteMessageAsync(claimed.Id, claimed.ReservationToken);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await Client.PeekAsync(queue.Id)).Should().BeEmpty();
    }

    [Fact]
    public async Task Delete_without_a_token_removes_a_message_another_consumer_holds_and_the_holders_delete_then_returns_404()
    {
        var queue = await Client.CreateQueueAsync();
        await Client.SendAsync(queue.Id, "held by a consumer");
        var held = (await Client.ConsumeAsync(queue.Id, visibilityTimeout: 30)).Single();

        using var unconditional = await Client.DeleteMessageAsync(held.Id);
        using var holders = await Client.DeleteMessageAsync(held.Id, held.ReservationToken);

        unconditional.StatusCode.Should().Be(HttpStatusCode.OK, "a delete without a token is unconditional");
        (await unconditional.ReadJsonAsync()).GetRawText().Should().Be("""{"success":true}""");
        var problem = await holders.ShouldBeProblemAsync(HttpStatusCode.NotFound);
        problem.GetProperty("success").GetBoolean().Should().BeFalse();
        (await Client.PeekAsync(queue.Id)).Should().BeEmpty();
    }

    [Fact]
    public async Task Delete_with_a_token_on_a_never_consumed_message_returns_409()
    {
        var queue = await Client.CreateQueueAsync();
        var id = await Client.SendAsync(queue.Id, "untouched");

        using var response = await Client.DeleteMessageAsync(id, Guid.NewGuid().ToString("N"));

        await response.ShouldBeProblemAsync(HttpStatusCode.Conflict);
        (await Client.PeekAsync(queue.Id)).Should().ContainSingle();
    }

    [Fact]
    public async Task Delete_with_a_wrong_token_returns_409()
    {
        var queue = await Client.CreateQueueAsync();
        await Client.SendAsync(queue.Id, "mine");
        var claimed = (await Client.ConsumeAsync(queue.Id)).Single();

        using var response = await Client.DeleteMessageAsync(claimed.Id, "not-the-token");

        await response.ShouldBeProblemAsync(HttpStatusCode.Conflict);
        (await Client.PeekAsync(queue.Id)).Should().ContainSingle();
    }

    [Fact]
    public async Task Delete_of_an_unknown_message_returns_404_with_success_false()
    {
        using var response = await Client.DeleteMessageAsync(999_999_999);

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.NotFound);
        problem.GetProperty("success").GetBoolean().Should().BeFalse();
    }

    [Fact]
    public async Task Delete_with_a_token_of_an_unknown_message_returns_404_with_success_false()
    {
        using var response = await Client.DeleteMessageAsync(999_999_999, "some-token");

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.NotFound);
        problem.GetProperty("success").GetBoolean().Should().BeFalse();
    }

    [Fact]
    public async Task Delete_with_the_token_after_the_queue_was_deleted_returns_404_with_success_false()
    {
        var queue = await Client.CreateQueueAsync();
        await Client.SendAsync(queue.Id, "in flight when its queue goes");
        var claimed = (await Client.ConsumeAsync(queue.Id, visibilityTimeout: 30)).Single();
        using var deleteQueue = await Client.DeleteAsync($"/queues/{queue.Id}");

        using var response = await Client.DeleteMessageAsync(claimed.Id, claimed.ReservationToken);

        deleteQueue.StatusCode.Should().Be(HttpStatusCode.OK);
        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.NotFound);
        problem.GetProperty("success").GetBoolean().Should().BeFalse("the message went with its queue; no one else holds it");
    }

    [Fact]
    public async Task Delete_twice_returns_404_the_second_time()
    {
        var queue = await Client.CreateQueueAsync();
        await Client.SendAsync(queue.Id, "once");
        var claimed = (await Client.ConsumeAsync(queue.Id)).Single();
        using var first = await Client.DeleteMessageAsync(claimed.Id, claimed.ReservationToken);

        using var second = await Client.DeleteMessageAsync(claimed.Id, claimed.ReservationToken);

        first.StatusCode.Should().Be(HttpStatusCode.OK);
        var problem = await second.ShouldBeProblemAsync(HttpStatusCode.NotFound);
        problem.GetProperty("success").GetBoolean().Should().BeFalse();
    }

    [Fact]
    public async Task Delete_with_the_token_given_twice_is_a_400_saying_so_and_the_message_stays_reserved_for_a_proper_delete()
    {
        var queue = await Client.CreateQueueAsync();
        await Client.SendAsync(queue.Id, "acknowledged once");
        var claimed = (await Client.ConsumeAsync(queue.Id)).Single();
        var token = Uri.EscapeDataString(claimed.ReservationToken!);

        // Read as one value the two would be joined ("t,t"), match nothing, and be told someone else has the message.
        using var twice = await Client.DeleteAsync($"/messages/{claimed.Id}?reservation_token={token}&reservation_token={token}");
        using var once = await Client.DeleteMessageAsync(claimed.Id, claimed.ReservationToken);

        var problem = await twice.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        problem.ErrorsFor("reservation_token").Should().ContainSingle().Which.Should().Contain("2 times");
        once.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Delete_with_an_empty_token_is_a_400_not_a_409()
    {
        var queue = await Client.CreateQueueAsync();
        await Client.SendAsync(queue.Id, "still mine");
        var claimed = (await Client.ConsumeAsync(queue.Id)).Single();

        using var response = await Client.DeleteAsync($"/messages/{claimed.Id}?reservation_token=");

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        problem.ErrorsFor("reservation_token").Should().ContainSingle().Which.Should().Contain("empty");
        (await Client.PeekAsync(queue.Id)).Should().ContainSingle().Which.ReservationToken.Should().Be(claimed.ReservationToken);
    }

    [Fact]
    public async Task A_token_holding_U0000_is_a_409_and_fails_none_of_the_deletes_that_go_in_with_it()
    {
        // No token the broker hands out holds U+0000, which PostgreSQL's text cannot; that store commits the deletes of
        // the moment as one statement, so each must still be answered for its own message.
        var queue = await Client.CreateQueueAsync();
        var ids = new List<long>();
        for (var i = 0; i < 30; i++)
        {
            ids.Add(await Client.SendAsync(queue.Id, $"m{i}"));
        }

        var answers = await Task.WhenAll(ids.Select(async (id, i) =>
        {
            using var response = await Client.DeleteAsync(i % 3 == 0 ? $"/messages/{id}?reservation_token=%00{i}" : $"/messages/{id}");
            return (Forged: i % 3 == 0, response.StatusCode);
        }));
        using var gone = await Client.DeleteAsync("/messages/999999999?reservation_token=%00");

        answers.Where(a => a.Forged).Should().OnlyContain(a => a.StatusCode == HttpStatusCode.Conflict);
        answers.Where(a => !a.Forged).Should().OnlyContain(a => a.StatusCode == HttpStatusCode.OK);
        await gone.ShouldBeProblemAsync(HttpStatusCode.NotFound);
        (await Client.PeekAsync(queue.Id, size: 30)).Select(m => m.Id).Should().BeEquivalentTo(ids.Where((_, i) => i % 3 == 0));
    }

    [Fact]
    public async Task Delete_with_an_id_past_the_largest_names_the_limit()
    {
        using var response = await Client.DeleteAsync("/messages/9223372036854775808");

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        problem.ErrorsFor("id").Should().ContainSingle().Which.Should().Contain("from 1 to 9223372036854775807");
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("1.5")]
    public async Task Delete_with_an_id_that_is_not_a_positive_integer_returns_400(string id)
    {
        using var response = await Client.DeleteAsync($"/messages/{id}");

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
        problem.ErrorsFor("id").Should().NotBeEmpty();
    }

    [Fact]
    public async Task A_deleted_message_is_not_consumed_again_after_its_timeout()
    {
        var queue = await Client.CreateQueueAsync();
        await Client.SendAsync(queue.Id, "acknowledged");
        var claimed = (await Client.ConsumeAsync(queue.Id, visibilityTimeout: 5)).Single();
        using var delete = await Client.DeleteMessageAsync(claimed.Id, claimed.ReservationToken);

        Clock.Advance(TimeSpan.FromSeconds(10));
        var messages = await Client.ConsumeAsync(queue.Id);

        messages.Should().BeEmpty();
    }
}

/// <summary>The same on PostgreSQL: the contract both stores keep.</summary>
public sealed class DeleteMessageOnPostgresTests(PostgresSharedBroker broker) : DeleteMessageTests(broker), IClassFixture<PostgresSharedBroker>;
