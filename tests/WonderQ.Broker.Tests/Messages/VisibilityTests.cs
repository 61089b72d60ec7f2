using System.Net;
using WonderQ.Shared.Contracts;

namespace WonderQ.Broker.Tests.Messages;

public class VisibilityTests : FreshBroker
{
    public VisibilityTests()
    {
    }

    protected VisibilityTests(BrokerApplication app)
        : base(app)
    {
    }

    [Fact]
    public async Task A_claimed_message_is_not_returned_before_its_visibility_timeout_runs_out()
    {
        var queue = await Client.CreateQueueAsync();
        await Client.SendAsync(queue.Id, "busy");
        await Client.ConsumeAsync(queue.Id, visibilityTimeout: 30);

        Clock.Advance(TimeSpan.FromSeconds(29));
        var messages = await Client.ConsumeAsync(queue.Id, size: 10);

        messages.Should().BeEmpty();
    }

    [Fact]
    public async Task A_message_not_deleted_in_time_comes_back_with_a_new_token_and_receive_count_2()
    {
        var queue = await Client.CreateQueueAsync();
        var id = await Client.SendAsync(queue.Id, "retry me");
        var first = (await Client.ConsumeAsync(queue.Id, visibilityTimeout: 30)).Single();

        Clock.Advance(TimeSpan.FromSeconds(31));
        var second = (await Client.ConsumeAsync(queue.Id, visibilityTimeout: 30)).Single();

        second.Id.Should().Be(id);
        second.ReceiveCount.Should().Be(2);
        second.ReservationToken.Should().NotBeNullOrEmpty().And.NotBe(first.ReservationToken);
        second.RetrievableAt.Should().Be(Clock.GetUtcNow().AddSeconds(30));
    }

    [Fact]
    public async Task A_message_not_deleted_twice_comes_back_with_receive_count_3_and_only_the_latest_token_deletes_it()
    {
        var queue = await Client.CreateQueueAsync();
        var id = await Client.SendAsync(queue.Id, "third time");
        var first = (await Client.ConsumeAsync(queue.Id, visibilityTimeout: 30)).Single();
        Clock.Advance(TimeSpan.FromSeconds(31));
        var second = (await Client.ConsumeAsync(queue.Id, visibilityTimeout: 30)).Single();

        Clock.Advance(TimeSpan.FromSeconds(31));
        var third = (await Client.ConsumeAsync(queue.Id, visibilityTimeout: 30)).Single();
        using var bySecond = await Client.DeleteMessageAsync(id, second.ReservationToken);
        using var byThird = await Client.DeleteMessageAsync(id, third.ReservationToken);

        third.Id.Should().Be(id);
        third.ReceiveCount.Should().Be(3);
        third.ReservationToken.Should().NotBeNullOrEmpty().And.NotBe(first.ReservationToken).And.NotBe(second.ReservationToken);
        third.RetrievableAt.Should().Be(Clock.GetUtcNow().AddSeconds(30));
        await bySecond.ShouldBeProblemAsync(HttpStatusCode.Conflict);
        byThird.StatusCode.Should().Be(HttpStatusCode.OK);
        (await Client.PeekAsync(queue.Id)).Should().BeEmpty();
    }

    [Fact]
    public async Task A_message_received_as_often_as_receive_count_can_say_stays_at_the_largest_count_and_its_queue_goes_on()
    {
        var queue = await Client.CreateQueueAsync();
        var id = await Client.SendAsync(queue.Id, "received forever");
        await Client.SendAsync(queue.Id, "behind it");
        // About 2^31 receives: days of consumes with a visibility_timeout of 0, which reserve nothing.
        App.ExecuteInStore($"UPDATE messages SET receive_count = {int.MaxValue - 1} WHERE id = {id}");

        var last = (await Client.ConsumeAsync(queue.Id, visibilityTimeout: 0)).Single();
        using var past = await Client.ConsumeResponseAsync(queue.Id, size: 2, visibilityTimeout: 0);
        var peeked = await Client.PeekAsync(queue.Id);

        last.Should().Match<MessageDto>(m => m.Id == id && m.ReceiveCount == int.MaxValue);
        past.StatusCode.Should().Be(HttpStatusCode.OK, "a count that cannot go higher must not stop the queue");
        (await past.ReadAsync<MessageDto[]>()).Select(m => (m.Body, m.ReceiveCount)).Should().Equal(
            ("received forever", int.MaxValue), ("behind it", 1));
        peeked.Select(m => m.ReceiveCount).Should().Equal(int.MaxValue, 1);
    }

    [Fact]
    public async Task A_message_comes_back_exactly_when_its_timeout_ends()
    {
        var queue = await Client.CreateQueueAsync();
        await Client.SendAsync(queue.Id, "on the dot");
        await Client.ConsumeAsync(queue.Id, visibilityTimeout: 30);

        Clock.Advance(TimeSpan.FromSeconds(30) - TimeSpan.FromMilliseconds(1));
        (await Client.ConsumeAsync(queue.Id)).Should().BeEmpty("a millisecond of its timeout is left");
        Clock.Advance(TimeSpan.FromMilliseconds(1));
        var messages = await Client.ConsumeAsync(queue.Id);

        messages.Should().ContainSingle();
    }

    [Fact]
    public async Task A_visibility_timeout_of_zero_leaves_the_message_retrievable_at_once()
    {
        var queue = await Client.CreateQueueAsync();
        var id = await Client.SendAsync(queue.Id, "peek-like");
        await Client.ConsumeAsync(queue.Id, visibilityTimeout: 0);

        var again = await Client.ConsumeAsync(queue.Id);

        again.Should().ContainSingle().Which.Should().Match<MessageDto>(m => m.Id == id && m.ReceiveCount == 2);
    }

    [Fact]
    public async Task A_message_claimed_with_a_visibility_timeout_of_zero_reaches_every_waiting_consumer_in_turn_without_the_clock_moving()
    {
        var queue = await Client.CreateQueueAsync();
        var waiting = new List<Task<MessageDto[]>>();
        for (var i = 1; i <= 3; i++)
        {
            waiting.Add(Client.ConsumeAsync(queue.Id, waitTime: 20, visibilityTimeout: 0));
            await AsleepAsync(queue.Id, i);
        }

        var id = await Client.SendAsync(queue.Id, "reserved for no time at all");
        var received = await Task.WhenAll(waiting).WaitAsync(TimeSpan.FromSeconds(10));

        received.Should().AllSatisfy(messages => messages.Should().ContainSingle().Which.Id.Should().Be(id));
        received.Select(messages => messages[0].ReceiveCount).Should().BeEquivalentTo([1, 2, 3], "each consumer claimed it once more");
        received.Select(messages => messages[0].ReservationToken).Should().OnlyHaveUniqueItems();
    }

    [Fact]
    public async Task A_waiting_consumer_is_woken_when_a_reservation_expires()
    {
        var queue = await Client.CreateQueueAsync();
        var id = await Client.SendAsync(queue.Id, "comes back");
        await Client.ConsumeAsync(queue.Id, visibilityTimeout: 10);
        var waiting = Client.ConsumeAsync(queue.Id, waitTime: 20);
        await WaitingConsumersAsync(1);
        waiting.IsCompleted.Should().BeFalse();

        var messages = await AdvanceUntilAnsweredAsync(waiting, TimeSpan.FromSeconds(11));

        messages.Should().ContainSingle().Which.Should().Match<MessageDto>(m => m.Id == id && m.ReceiveCount == 2);
    }

    [Fact]
    public async Task A_consumer_parking_after_two_claims_is_woken_by_the_reservation_that_runs_out_first()
    {
        var queue = await Client.CreateQueueAsync();
        var soon = await Client.SendAsync(queue.Id, "reserved for 10 s");
        await Client.SendAsync(queue.Id, "reserved for 60 s");
        (await Client.ConsumeAsync(queue.Id, visibilityTimeout: 10)).Should().ContainSingle();
        (await Client.ConsumeAsync(queue.Id, visibilityTimeout: 60)).Should().ContainSingle();

        // Both reservations were made before it parked: its wake-up comes from the look-up of the next expiry.
        var waiting = Client.ConsumeAsync(queue.Id, waitTime: 20);
        await AsleepAsync(queue.Id);
        var messages = await AdvanceUntilAnsweredAsync(waiting, TimeSpan.FromSeconds(11));

        messages.Should().ContainSingle().Which.Should().Match<MessageDto>(m => m.Id == soon && m.ReceiveCount == 2);
    }

    [Fact]
    public async Task Reservations_running_out_together_reach_every_waiting_consumer_not_only_the_first_woken()
    {
        var queue = await Client.CreateQueueAsync();
        var one = await Client.SendAsync(queue.Id, "one");
        var two = await Client.SendAsync(queue.Id, "two");
        (await Client.ConsumeAsync(queue.Id, size: 2, visibilityTimeout: 10)).Should().HaveCount(2);
        var first = Client.ConsumeAsync(queue.Id, waitTime: 20);
        await AsleepAsync(queue.Id, 1);
        var second = Client.ConsumeAsync(queue.Id, waitTime: 20);
        await AsleepAsync(queue.Id, 2);

        // One expiry wakes one consumer; with its batch full, it wakes the next rather than leave the other message
        // retrievable beside a consumer asleep until its wait_time runs out.
        var firstMessages = await AdvanceUntilAnsweredAsync(first, TimeSpan.FromSeconds(11));
        var secondMessages = await second.WaitAsync(TimeSpan.FromSeconds(10));

        firstMessages.Concat(secondMessages).Select(m => m.Id).Should().BeEquivalentTo([one, two]);
    }

    [Fact]
    public async Task A_waiting_consumer_is_woken_by_the_reservation_that_runs_out_first_not_by_the_one_made_last()
    {
        var queue = await Client.CreateQueueAsync();
        var soon = Client.ConsumeAsync(queue.Id, waitTime: 20, visibilityTimeout: 10);
        await AsleepAsync(queue.Id, 1);
        var late = Client.ConsumeAsync(queue.Id, waitTime: 20, visibilityTimeout: 60);
        await AsleepAsync(queue.Id, 2);
        var waiting = Client.ConsumeAsync(queue.Id, waitTime: 20);
        await AsleepAsync(queue.Id, 3);
        var id = await Client.SendAsync(queue.Id, "reserved for 10 s");
        (await soon.WaitAsync(TimeSpan.FromSeconds(10))).Should().ContainSingle().Which.Id.Should().Be(id);
        await Client.SendAsync(queue.Id, "reserved for 60 s");
        (await late.WaitAsync(TimeSpan.FromSeconds(10))).Should().ContainSingle();

        var messages = await AdvanceUntilAnsweredAsync(waiting, TimeSpan.FromSeconds(11));

        messages.Should().ContainSingle().Which.Should().Match<MessageDto>(m => m.Id == id && m.ReceiveCount == 2);
    }

    [Fact]
    public async Task A_claim_made_while_another_consumer_waits_wakes_that_consumer_when_it_expires()
    {
        var queue = await Client.CreateQueueAsync();
        var first = Client.ConsumeAsync(queue.Id, waitTime: 20, visibilityTimeout: 10);
        var second = Client.ConsumeAsync(queue.Id, waitTime: 20, visibilityTimeout: 10);
        await WaitingConsumersAsync(2);
        var id = await Client.SendAsync(queue.Id, "claimed by one waiter, then the other");
        var winner = await Task.WhenAny(first, second).WaitAsync(TimeSpan.FromSeconds(10));
        var other = winner == first ? second : first;

        var messages = await AdvanceUntilAnsweredAsync(other, TimeSpan.FromSeconds(11));

        (await winner).Should().ContainSingle().Which.Should().Match<MessageDto>(m => m.Id == id && m.ReceiveCount == 1);
        messages.Should().ContainSingle().Which.Should().Match<MessageDto>(m => m.Id == id && m.ReceiveCount == 2);
    }
}

/// <summary>The same on PostgreSQL: the contract both stores keep.</summary>
public sealed class VisibilityOnPostgresTests() : VisibilityTests(BrokerApplication.OnPostgres());
