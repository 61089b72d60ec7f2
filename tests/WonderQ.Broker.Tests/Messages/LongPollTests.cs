using System.Diagnostics;
using System.Globalization;
using System.Net;
using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using WonderQ.Broker.Messages;
using WonderQ.Shared.Contracts;
using WonderQ.Shared.Validation;

namespace WonderQ.Broker.Tests.Messages;

public class LongPollTests : FreshBroker
{
    public LongPollTests()
    {
    }

    protected LongPollTests(BrokerApplication app)
        : base(app)
    {
    }

    [Fact]
    public async Task Consume_returns_as_soon_as_a_message_is_published_while_it_waits()
    {
        var queue = await Client.CreateQueueAsync();
        var waited = Stopwatch.StartNew();
        var consume = Client.ConsumeAsync(queue.Id, waitTime: 20);
        await WaitingConsumersAsync(1);

        var id = await Client.SendAsync(queue.Id, "wake up");
        var messages = await consume.WaitAsync(TimeSpan.FromSeconds(10));

        waited.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(5), "a publish wakes a waiting consumer at once, in real time");
        messages.Should().ContainSingle().Which.Id.Should().Be(id);
    }

    [Fact]
    public async Task Consume_returns_empty_when_wait_time_passes()
    {
        var queue = await Client.CreateQueueAsync();
        var consume = Client.ConsumeAsync(queue.Id, waitTime: 5);
        await WaitingConsumersAsync(1);
        consume.IsCompleted.Should().BeFalse("nothing has been published and no time has passed");

        var messages = await AdvanceUntilAnsweredAsync(consume, TimeSpan.FromSeconds(6));

        messages.Should().BeEmpty();
        App.WaitingConsumerCount.Should().Be(0);
    }

    [Fact]
    public async Task Consume_keeps_waiting_until_wait_time_has_passed()
    {
        var queue = await Client.CreateQueueAsync();
        var consume = Client.ConsumeAsync(queue.Id, waitTime: 20);
        await WaitingConsumersAsync(1);

        Clock.Advance(TimeSpan.FromSeconds(15));
        var id = await Client.SendAsync(queue.Id, "still in time");
        var messages = await consume.WaitAsync(TimeSpan.FromSeconds(10));

        messages.Should().ContainSingle().Which.Id.Should().Be(id);
    }

    [Fact]
    public async Task Consume_waits_20_seconds_by_default()
    {
        var queue = await Client.CreateQueueAsync();
        using var pending = Client.GetAsync($"/messages/consume?queue_id={queue.Id}");
        await WaitingConsumersAsync(1);

        Clock.Advance(TimeSpan.FromSeconds(19));
        var id = await Client.SendAsync(queue.Id, "at 19 s, still in time");
        using var response = await pending.WaitAsync(TimeSpan.FromSeconds(10));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.ReadAsync<MessageDto[]>()).Should().ContainSingle().Which.Id.Should().Be(id);
    }

    [Fact]
    public async Task Consume_with_the_default_wait_returns_empty_after_20_seconds()
    {
        var queue = await Client.CreateQueueAsync();
        using var pending = Client.GetAsync($"/messages/consume?queue_id={queue.Id}");
        await WaitingConsumersAsync(1);

        using var response = await AdvanceUntilAnsweredAsync(pending, TimeSpan.FromSeconds(20));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.ReadAsync<MessageDto[]>()).Should().BeEmpty();
    }

    [Fact]
    public async Task One_message_published_to_two_waiting_consumers_reaches_exactly_one()
    {
        var queue = await Client.CreateQueueAsync();
        var first = Client.ConsumeAsync(queue.Id, waitTime: 10);
        var second = Client.ConsumeAsync(queue.Id, waitTime: 10);
        await WaitingConsumersAsync(2);

        var id = await Client.SendAsync(queue.Id, "only one");
        var winner = await Task.WhenAny(first, second).WaitAsync(TimeSpan.FromSeconds(10));
        var loser = winner == first ? second : first;
        var lost = await AdvanceUntilAnsweredAsync(loser, TimeSpan.FromSeconds(11));

        (await winner).Should().ContainSingle().Which.Id.Should().Be(id);
        lost.Should().BeEmpty();
    }

    [Fact]
    public async Task A_publish_to_another_queue_neither_answers_nor_wakes_the_consumers_waiting_on_this_one()
    {
        var mine = await Client.CreateQueueAsync();
        var other = await Client.CreateQueueAsync();
        var first = Client.ConsumeAsync(mine.Id, waitTime: 20);
        await AsleepAsync(mine.Id);
        var second = Client.ConsumeAsync(mine.Id, waitTime: 20);
        await AsleepAsync(mine.Id, 2);

        // A consume goes through the writer after the send's commit, so once it is answered the send's wake-ups have run.
        var elsewhere = await Client.SendAsync(other.Id, "for the other queue");
        var taken = await Client.ConsumeAsync(other.Id);

        taken.Should().ContainSingle().Which.Should().Match<MessageDto>(m => m.Id == elsewhere && m.ReceiveCount == 1);
        first.IsCompleted.Should().BeFalse("a message on another queue is not an answer");
        second.IsCompleted.Should().BeFalse("a message on another queue is not an answer");

        // Woken, the first would have looked, found nothing and parked again behind the second.
        await AsleepAsync(mine.Id, 2);
        var next = await Client.SendAsync(mine.Id, "for the consumer waiting longest");
        var after = await Client.SendAsync(mine.Id, "for the other one");
        (await first.WaitAsync(TimeSpan.FromSeconds(10))).Should().ContainSingle().Which.Id.Should().Be(next, "it kept its place in line: nothing woke it");
        (await second.WaitAsync(TimeSpan.FromSeconds(10))).Should().ContainSingle().Which.Id.Should().Be(after);
    }

    [Fact]
    public async Task A_waiting_consumer_returns_empty_when_its_queue_is_deleted()
    {
        var queue = await Client.CreateQueueAsync();
        var consume = Client.ConsumeAsync(queue.Id, waitTime: 20);
        await WaitingConsumersAsync(1);

        using var delete = await Client.DeleteAsync($"/queues/{queue.Id}");
        var messages = await consume.WaitAsync(TimeSpan.FromSeconds(10));

        delete.StatusCode.Should().Be(HttpStatusCode.OK);
        messages.Should().BeEmpty();
    }

    [Fact]
    public async Task Every_consumer_waiting_on_a_queue_returns_empty_at_once_when_it_is_deleted()
    {
        var queue = await Client.CreateQueueAsync();
        var first = Client.ConsumeAsync(queue.Id, waitTime: 20);
        var second = Client.ConsumeAsync(queue.Id, waitTime: 20);
        await WaitingConsumersAsync(2);

        using var delete = await Client.DeleteAsync($"/queues/{queue.Id}");
        var answers = await Task.WhenAll(first, second).WaitAsync(TimeSpan.FromSeconds(10));

        delete.StatusCode.Should().Be(HttpStatusCode.OK);
        answers.Should().AllSatisfy(messages => messages.Should().BeEmpty());
        App.WaitingConsumerCount.Should().Be(0);
    }

    [Fact]
    public async Task A_waiting_consumer_gets_empty_not_an_error_when_the_broker_stops()
    {
        var queue = await Client.CreateQueueAsync();
        using var pending = Client.ConsumeResponseAsync(queue.Id, waitTime: 20);
        await WaitingConsumersAsync(1);

        App.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
        using var response = await pending.WaitAsync(TimeSpan.FromSeconds(10));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Headers.ConnectionClose.Should().BeTrue("a consumer asking again on the same connection would find it reset");
        (await response.ReadAsync<MessageDto[]>()).Should().BeEmpty();
    }

    [Fact]
    public async Task A_consumer_that_gives_up_leaves_the_message_for_the_next()
    {
        var queue = await Client.CreateQueueAsync();
        using var cancel = new CancellationTokenSource();
        var abandoned = Client.ConsumeAsync(queue.Id, waitTime: 20, cancellationToken: cancel.Token);
        await WaitingConsumersAsync(1);
        await cancel.CancelAsync();
        await FluentActions.Awaiting(() => abandoned).Should().ThrowAsync<OperationCanceledException>();
        await Eventually.TrueAsync(() => App.WaitingConsumerCount == 0, "the abandoned consumer leaves");

        var id = await Client.SendAsync(queue.Id, "for whoever asks next");
        var messages = await Client.ConsumeAsync(queue.Id);

        messages.Should().ContainSingle().Which.Should().Match<MessageDto>(m => m.Id == id && m.ReceiveCount == 1);
    }

    [Fact]
    public async Task A_long_poll_whose_client_has_gone_ends_without_writing_an_answer()
    {
        // Writing [] to a closed connection only ends in the JSON writer's OperationCanceledException, five times over
        // per long poll: thousands when a fleet of consumers stops at once.
        var queue = await Client.CreateQueueAsync();
        using var gone = new CancellationTokenSource();
        var consume = MessagesApi.Consume(
            new ConsumeQuery(queue.Id.ToString(CultureInfo.InvariantCulture), null, null, "20", null),
            new Microsoft.AspNetCore.Http.DefaultHttpContext(),
            App.Services.GetRequiredService<LongPoll>(),
            App.Services.GetRequiredService<IValidator<ConsumeQuery>>(),
            App.Services.GetRequiredService<IOptions<LimitsOptions>>(),
            gone.Token);
        await WaitingConsumersAsync(1);

        await gone.CancelAsync();

        (await consume.WaitAsync(TimeSpan.FromSeconds(10))).Result.Should().BeOfType<EmptyHttpResult>();
        App.WaitingConsumerCount.Should().Be(0);
    }
}

/// <summary>The same on PostgreSQL: the contract both stores keep.</summary>
public sealed class LongPollOnPostgresTests() : LongPollTests(BrokerApplication.OnPostgres());
