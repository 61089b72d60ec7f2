using System.Collections.Concurrent;
using System.Net;
using Microsoft.Data.Sqlite;
using WonderQ.Broker.Tests.Storage;
using WonderQ.Shared.Contracts;

namespace WonderQ.Broker.Tests.Messages;

/// <summary>
/// Long polls racing what can happen to them at the same moment, many times over on the real store: a send that
/// claims for a consumer whose client leaves or whose wait runs out, a send landing as a consumer parks, a queue
/// deleted and created again under consumers and sends. The broker's clock is fake and moves only when a test moves
/// it, so a consumer that sleeps through a message hangs its round instead of hiding behind its wait_time.
/// </summary>
public sealed class LongPollRaceTests : FreshBroker
{
    private const int Visibility = 10;

    [Theory]
    [InlineData("leaves")]
    [InlineData("times out")]
    public async Task A_message_claimed_for_a_waiting_consumer_in_a_send_s_commit_as_the_consumer_leaves_or_times_out_is_held_for_its_visibility_timeout_then_delivered_again(
        string consumer)
    {
        var queue = await Client.CreateQueueAsync();
        using var leaves = new CancellationTokenSource();
        var consume = Client.ConsumeAsync(queue.Id, waitTime: 5, visibilityTimeout: Visibility, cancellationToken: leaves.Token);
        await AsleepAsync(queue.Id);
        using var held = new HeldClaims(App.Services, App.DatabasePath);

        // The send's commit has taken the consumer and is claiming for it when the consumer goes.
        var send = Client.SendAsync(queue.Id, "claimed for a consumer on its way out");
        await held.Entered.WaitAsync(TimeSpan.FromSeconds(10));
        if (consumer == "leaves")
        {
            await leaves.CancelAsync();
        }
        else
        {
            Clock.Advance(TimeSpan.FromSeconds(6));
        }

        held.Release();
        var id = await send;

        if (consumer == "leaves")
        {
            await FluentActions.Awaiting(() => consume.WaitAsync(TimeSpan.FromSeconds(10))).Should().ThrowAsync<OperationCanceledException>();
        }
        else
        {
            (await consume.WaitAsync(TimeSpan.FromSeconds(10))).Should().ContainSingle("a consumer taken for a claim is answered with it")
                .Which.Id.Should().Be(id);
        }

        (await Client.ConsumeAsync(queue.Id)).Should().BeEmpty("the message is reserved for the consumer for its visibility timeout");
        Clock.Advance(TimeSpan.FromSeconds(Visibility));
        (await Client.ConsumeAsync(queue.Id)).Should().ContainSingle().Which.Should().Match<MessageDto>(m => m.Id == id && m.ReceiveCount == 2);
    }

    /// <summary>
    /// A commit held up for longer than the claim's visibility timeout (a sync on a stalled disk, a checkpoint): the
    /// reservation has run out by the time the consumer would get it, and a consumer woken by its expiry could take the
    /// message while this one still works on it. A commit that ends in the very millisecond the reservation does is as
    /// late: from then on the message is another consumer's to claim.
    /// </summary>
    [Theory]
    [InlineData(3)]
    [InlineData(2)]
    public async Task A_consume_whose_commit_outlasts_its_visibility_timeout_is_answered_empty_and_the_message_goes_to_the_next_consumer(int commitSeconds)
    {
        var queue = await Client.CreateQueueAsync();
        var id = await Client.SendAsync(queue.Id, "claimed too slowly");
        using var held = new HeldClaims(App.Services, App.DatabasePath);

        var consume = Client.ConsumeAsync(queue.Id, visibilityTimeout: 2);
        await held.Entered.WaitAsync(TimeSpan.FromSeconds(10));
        Clock.Advance(TimeSpan.FromSeconds(commitSeconds));
        held.Release();

        (await consume.WaitAsync(TimeSpan.FromSeconds(10))).Should().BeEmpty("its reservation had run out before it was answered");
        var next = (await Client.ConsumeAsync(queue.Id, visibilityTimeout: 2)).Should().ContainSingle().Subject;
        next.Id.Should().Be(id);
        next.RetrievableAt.Should().Be(Clock.GetUtcNow().AddSeconds(2), "the next consumer has the whole of its own window");
    }

    [Fact]
    public async Task A_waiting_consumer_whose_claim_in_a_send_s_commit_runs_out_before_the_commit_ends_claims_the_message_afresh()
    {
        var queue = await Client.CreateQueueAsync();
        var consume = Client.ConsumeAsync(queue.Id, waitTime: 10, visibilityTimeout: 2);
        await AsleepAsync(queue.Id);
        using var held = new HeldClaims(App.Services, App.DatabasePath);

        var send = Client.SendAsync(queue.Id, "handed over too slowly");
        await held.Entered.WaitAsync(TimeSpan.FromSeconds(10));
        Clock.Advance(TimeSpan.FromSeconds(3));
        held.Release();
        var id = await send;

        var claimed = (await consume.WaitAsync(TimeSpan.FromSeconds(10))).Should().ContainSingle().Subject;
        claimed.Id.Should().Be(id);
        claimed.RetrievableAt.Should().Be(Clock.GetUtcNow().AddSeconds(2), "a reservation that had run out when it was handed over is no reservation");
        (await Client.ConsumeAsync(queue.Id)).Should().BeEmpty("the message is reserved for the consumer for its whole visibility timeout");
    }

    [Fact]
    public async Task Messages_claimed_for_consumers_that_leave_or_time_out_as_they_are_sent_come_back_and_never_reach_two_consumers_at_once()
    {
        const int consumers = 6;
        var queue = await Client.CreateQueueAsync();
        var sent = new ConcurrentBag<long>();
        var claims = new ConcurrentBag<MessageDto>();
        for (var round = 0; round < 25; round++)
        {
            using var leave = new CancellationTokenSource();
            var polls = Enumerable.Range(0, consumers).Select(i => Task.Run(async () =>
            {
                // Half of them leave as the messages are sent, the other half's wait runs out then.
                var leaves = i % 2 == 0;
                try
                {
                    var messages = await Client.ConsumeAsync(
                        queue.Id, waitTime: leaves ? 20 : 1, visibilityTimeout: Visibility, cancellationToken: leaves ? leave.Token : default);
                    foreach (var message in messages)
                    {
                        claims.Add(message);
                    }
                }
                catch (OperationCanceledException) when (leaves)
                {
                }
            })).ToList();

            // Messages of earlier rounds that came back answer some at once; the others are asleep.
            await Eventually.TrueAsync(
                () => Waiters.AsleepOn(queue.Id) + polls.Count(p => p.IsCompleted) == consumers, "every consumer is asleep or answered");
            var sends = Enumerable.Range(0, consumers)
                .Select(i => Task.Run(async () => sent.Add(await Client.SendAsync(queue.Id, $"round {round}, message {i}"))))
                .ToList();
            await leave.CancelAsync();
            Clock.Advance(TimeSpan.FromSeconds(1));
            await Task.WhenAll(sends);
            await NudgeUntilDoneAsync(Task.WhenAll(polls));
        }

        // Every reservation runs out; then one consumer takes everything for an hour.
        Clock.Advance(TimeSpan.FromSeconds(Visibility));
        var drained = await DrainAsync(queue.Id);

        drained.Select(m => m.Id).Should().BeEquivalentTo(sent, "no message vanishes: every one sent comes back once its reservation runs out");
        // A claim holds a message for [retrievable_at - visibility_timeout, retrievable_at): the next may start only after.
        var windows = claims.Select(m => (m.Id, From: m.RetrievableAt!.Value.AddSeconds(-Visibility), To: m.RetrievableAt!.Value))
            .Concat(drained.Select(m => (m.Id, From: m.RetrievableAt!.Value.AddHours(-1), To: m.RetrievableAt!.Value)));
        foreach (var message in windows.GroupBy(w => w.Id))
        {
            var ordered = message.OrderBy(w => w.From).ToList();
            for (var i = 1; i < ordered.Count; i++)
            {
                ordered[i].From.Should().BeOnOrAfter(ordered[i - 1].To, $"message {message.Key} must not reach a second consumer while a first holds it");
            }
        }
    }

    [Fact]
    public async Task Consumers_parking_as_messages_are_sent_are_answered_with_them_at_once()
    {
        var queue = await Client.CreateQueueAsync();
        for (var round = 0; round < 300; round++)
        {
            // One to three of each, started together: the sends land before, during and after the consumers' looks.
            var count = 1 + (round % 3);
            var polls = Enumerable.Range(0, count).Select(_ => Task.Run(() => Client.ConsumeAsync(queue.Id, waitTime: 20, visibilityTimeout: 3600))).ToList();
            var sends = Enumerable.Range(0, count).Select(i => Task.Run(() => Client.SendAsync(queue.Id, $"round {round}, message {i}"))).ToList();
            var sent = await Task.WhenAll(sends);

            var all = Task.WhenAll(polls);
            (await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(10)))).Should().BeSameAs(
                all, $"no time passes on the broker's clock: a consumer that missed its wake-up in round {round} sleeps on beside its message");
            (await all).SelectMany(m => m).Select(m => m.Id).Should().BeEquivalentTo(sent);
        }
    }

    [Fact]
    public async Task A_queue_deleted_and_created_again_under_waiting_consumers_and_sends_keeps_every_message_in_its_own_queue()
    {
        var name = Wire.UniqueQueueName();
        for (var round = 0; round < 30; round++)
        {
            var old = await Client.CreateQueueAsync(name);
            var parked = Enumerable.Range(0, 3).Select(i => Task.Run(() => ConsumeByAsync(i % 2 == 0 ? $"queue_id={old.Id}" : $"queue_name={name}"))).ToList();
            await AsleepAsync(old.Id, 3);

            var oldSends = Enumerable.Range(0, 4).Select(i => Task.Run(async () =>
            {
                using var response = await Client.PostAsync("/messages", Wire.Json(new SendMessageRequest(old.Id, null, $"old {i}")));
                return response.StatusCode;
            })).ToList();
            var byIdLate = Task.Run(() => ConsumeByAsync($"queue_id={old.Id}"));
            using (var delete = await Client.DeleteAsync($"/queues/{old.Id}"))
            {
                delete.StatusCode.Should().Be(HttpStatusCode.OK);
            }

            using (var late = await Client.PostAsync("/messages", Wire.Json(new SendMessageRequest(old.Id, null, "after the delete"))))
            {
                late.StatusCode.Should().Be(HttpStatusCode.NotFound, $"round {round}: a send to a queue already deleted must not be taken");
            }

            var recreated = await Client.CreateQueueAsync(name);
            var newSends = Enumerable.Range(0, 3).Select(i => Task.Run(async () =>
            {
                using var response = await Client.PostAsync("/messages", Wire.Json(new SendMessageRequest(null, name, $"new {i}")));
                response.StatusCode.Should().Be(HttpStatusCode.Created);
                return (await response.ReadAsync<SendMessageResponse>()).Id;
            })).ToList();
            var newPolls = Enumerable.Range(0, 2).Select(_ => Task.Run(() => ConsumeByAsync($"queue_name={name}"))).ToList();

            (await Task.WhenAll(oldSends)).Should().OnlyContain(s => s == HttpStatusCode.Created || s == HttpStatusCode.NotFound);
            foreach (var messages in await Task.WhenAll(parked.Append(byIdLate)).WaitAsync(TimeSpan.FromSeconds(10)))
            {
                messages.Where(m => m.QueueId != old.Id).Should().BeEmpty($"round {round}: a consumer of the deleted queue gets only its messages");
            }

            var newIds = await Task.WhenAll(newSends);
            var newClaims = new List<MessageDto>();
            foreach (var poll in newPolls)
            {
                // Two consumers, three messages: neither can be left waiting.
                newClaims.AddRange(await poll.WaitAsync(TimeSpan.FromSeconds(10)));
            }

            newClaims.Where(m => m.QueueId != recreated.Id).Should().BeEmpty();
            newClaims.Select(m => m.Id).Concat((await DrainAsync(recreated.Id)).Select(m => m.Id)).Should().BeEquivalentTo(newIds);
            using var cleanUp = await Client.DeleteAsync($"/queues/{recreated.Id}");
        }

        OrphanedMessages().Should().Be(0, "no send stored a message in a queue that was already deleted");
    }

    /// <summary>A long poll of up to 20 s for one message; a queue deleted before it looks answers 404, read as nothing.</summary>
    private async Task<MessageDto[]> ConsumeByAsync(string queue)
    {
        using var response = await Client.GetAsync($"/messages/consume?{queue}&wait_time=20&visibility_timeout=3600");
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return [];
        }

        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return await response.ReadAsync<MessageDto[]>();
    }

    /// <summary>Everything retrievable in the queue, claimed for an hour.</summary>
    private async Task<List<MessageDto>> DrainAsync(long queueId)
    {
        var drained = new List<MessageDto>();
        while (await Client.ConsumeAsync(queueId, size: 100, visibilityTimeout: 3600) is { Length: > 0 } batch)
        {
            drained.AddRange(batch);
        }

        return drained;
    }

    /// <summary>Moves the clock a second at a time until the consumers whose timers were set after the last move are answered.</summary>
    private async Task NudgeUntilDoneAsync(Task polls)
    {
        for (var nudge = 0; nudge < 20 && await Task.WhenAny(polls, Task.Delay(TimeSpan.FromMilliseconds(100))) != polls; nudge++)
        {
            Clock.Advance(TimeSpan.FromSeconds(1));
        }

        await polls.WaitAsync(TimeSpan.FromSeconds(10));
    }

    private long OrphanedMessages()
    {
        using var connection = new SqliteConnection($"Data Source={App.DatabasePath};Pooling=False;Mode=ReadOnly");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM messages WHERE queue_id NOT IN (SELECT id FROM queues)";
        return (long)command.ExecuteScalar()!;
    }
}
