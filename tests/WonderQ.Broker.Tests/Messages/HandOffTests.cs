using System.Net;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using WonderQ.Broker.Messages;
using WonderQ.Broker.Storage;
using WonderQ.Shared.Contracts;

namespace WonderQ.Broker.Tests.Messages;

/// <summary>
/// A publish claims for consumers already parked on its queue inside its own commit, so they are answered by that
/// commit. Taken for such a claim, a consumer must be answered with it: not by its deadline, not by cancellation.
/// </summary>
public class HandOffTests : FreshBroker
{
    private static readonly TimeSpan _visibility = TimeSpan.FromSeconds(30);

    public HandOffTests()
    {
    }

    protected HandOffTests(BrokerApplication app)
        : base(app)
    {
    }

    [Fact]
    public async Task A_message_sent_to_a_waiting_consumer_is_already_claimed_when_the_send_is_answered()
    {
        var queue = await Client.CreateQueueAsync();
        var consume = Client.ConsumeAsync(queue.Id, waitTime: 20);
        await AsleepAsync(queue.Id);

        var id = await Client.SendAsync(queue.Id, "claimed in the same commit");
        var counts = await Client.CountsAsync(queue.Id);

        counts.InFlightSize.Should().Be(1, "the waiting consumer's claim committed with the send");
        counts.RetrievableSize.Should().Be(0);
        (await consume.WaitAsync(TimeSpan.FromSeconds(10))).Should().ContainSingle().Which.Id.Should().Be(id);
    }

    [Fact]
    public async Task Only_consumers_already_asleep_are_taken_and_only_as_many_as_the_messages_need()
    {
        var queue = await Client.CreateQueueAsync();
        using var first = Waiters.Register(queue.Id, 2, _visibility);
        using var stillClaiming = Waiters.Register(queue.Id, 5, _visibility);
        using var third = Waiters.Register(queue.Id, 3, _visibility);
        using var fourth = Waiters.Register(queue.Id, 1, _visibility);
        _ = first.WaitAsync(TimeSpan.FromSeconds(20), CancellationToken.None);
        _ = third.WaitAsync(TimeSpan.FromSeconds(20), CancellationToken.None);
        _ = fourth.WaitAsync(TimeSpan.FromSeconds(20), CancellationToken.None);

        var taken = Waiters.Take(queue.Id, 4);

        taken.Should().Equal([first, third], "the oldest asleep, until their sizes (2 + 3) cover the 4 messages");
        Waiters.Count.Should().Be(2, "the one still claiming and the fourth stay in line");
    }

    [Fact]
    public async Task A_consumer_woken_for_a_message_another_claim_took_keeps_its_place_ahead_of_those_who_came_after_it()
    {
        var queue = await Client.CreateQueueAsync();
        var first = Client.ConsumeAsync(queue.Id, waitTime: 20);
        await AsleepAsync(queue.Id);
        var second = Client.ConsumeAsync(queue.Id, waitTime: 20);
        await AsleepAsync(queue.Id, 2);

        // Woken for a message that a claim outside the hand-over took first (a newcomer's, in the same commit): it finds
        // nothing and parks again. At the back of the line, it lost its turn to every consumer that came after it.
        Waiters.Wake(queue.Id, 1, WaitingConsumers.WakeReason.Signaled);
        await AsleepAsync(queue.Id, 2);
        var id = await Client.SendAsync(queue.Id, "for the longest waiting");

        (await first.WaitAsync(TimeSpan.FromSeconds(10))).Should().ContainSingle().Which.Id.Should().Be(id);
        second.IsCompleted.Should().BeFalse("the one who came later waits on");
    }

    [Fact]
    public async Task Consumers_parked_again_take_their_places_back_by_arrival()
    {
        var queue = await Client.CreateQueueAsync();
        var first = Waiters.Register(queue.Id, 1, _visibility);
        using var second = Waiters.Register(queue.Id, 1, _visibility);
        var third = Waiters.Register(queue.Id, 1, _visibility);
        using var fourth = Waiters.Register(queue.Id, 1, _visibility);
        first.Dispose();
        third.Dispose();

        using var thirdAgain = Waiters.Register(queue.Id, 1, _visibility, third.Arrival);
        using var firstAgain = Waiters.Register(queue.Id, 1, _visibility, first.Arrival);
        using var newcomer = Waiters.Register(queue.Id, 1, _visibility);
        foreach (var waiter in new[] { second, fourth, thirdAgain, firstAgain, newcomer })
        {
            _ = waiter.WaitAsync(TimeSpan.FromSeconds(20), CancellationToken.None);
        }

        Waiters.Take(queue.Id, 5).Should().Equal([firstAgain, second, thirdAgain, fourth, newcomer]);
    }

    [Fact]
    public async Task A_consumer_taken_for_a_claim_is_answered_with_it_even_once_its_wait_has_run_out_or_it_was_cancelled()
    {
        var queue = await Client.CreateQueueAsync();
        using var cancel = new CancellationTokenSource();
        using var waiter = Waiters.Register(queue.Id, 1, _visibility);
        var wait = waiter.WaitAsync(TimeSpan.FromSeconds(5), cancel.Token);
        var taken = Waiters.Take(queue.Id, 1).Should().ContainSingle().Subject;

        Clock.Advance(TimeSpan.FromSeconds(10));
        await cancel.CancelAsync();
        wait.IsCompleted.Should().BeFalse("its claim is running and must reach it");
        var claim = new ClaimResult(queue.Id, []);
        taken.HandOver(Task.FromResult<ClaimResult?>(claim));

        (await wait.WaitAsync(TimeSpan.FromSeconds(10))).Should().Be(WaitingConsumers.WakeReason.HandedOff);
        (await waiter.HandedOver).Should().BeSameAs(claim);
    }

    [Fact]
    public async Task A_consumer_whose_claim_came_back_empty_keeps_waiting_for_the_next_message()
    {
        var queue = await Client.CreateQueueAsync();
        var consume = Client.ConsumeAsync(queue.Id, waitTime: 20);
        await AsleepAsync(queue.Id);

        // As when a claim earlier in the same commit took the message first.
        Waiters.Take(queue.Id, 1).Should().ContainSingle().Subject.HandOver(Task.FromResult<ClaimResult?>(new ClaimResult(queue.Id, [])));
        await AsleepAsync(queue.Id);
        consume.IsCompleted.Should().BeFalse("nothing reached it and its wait has not run out");
        var id = await Client.SendAsync(queue.Id, "the next message");

        (await consume.WaitAsync(TimeSpan.FromSeconds(10))).Should().ContainSingle().Which.Id.Should().Be(id);
    }
    [Fact]
    public virtual async Task Every_consumer_taken_for_a_commit_that_fails_is_answered_with_a_503()
    {
        var queue = await Client.CreateQueueAsync();
        var first = Client.ConsumeResponseAsync(queue.Id, waitTime: 20);
        var second = Client.ConsumeResponseAsync(queue.Id, waitTime: 20);
        await AsleepAsync(queue.Id, 2);

        // As when one commit publishes two messages: the send below takes both sleepers, and the first claim fails.
        App.Services.GetRequiredService<IMessageStore>().Activity.Parked = new TakingEveryone(Waiters);
        FailEveryClaim();
        using var send = await Client.PostAsync("/messages", Wire.Json(new SendMessageRequest(queue.Id, null, "its commit fails")));
        using var firstAnswer = await first.WaitAsync(TimeSpan.FromSeconds(10));
        using var secondAnswer = await second.WaitAsync(TimeSpan.FromSeconds(10));

        await send.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable);
        await firstAnswer.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable);
        await secondAnswer.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable);
        (await Client.CountsAsync(queue.Id)).QueueSize.Should().Be(0, "the send was rolled back with the claims");
    }

    /// <summary>A real SQLite failure in the broker's file: a trigger that aborts every reservation.</summary>
    private void FailEveryClaim()
    {
        using var connection = new SqliteConnection($"Data Source={App.DatabasePath};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            CREATE TRIGGER test_claims_fail BEFORE UPDATE OF reservation_token ON messages
            BEGIN SELECT RAISE(ABORT, 'a claim fails'); END;
            """;
        command.ExecuteNonQuery();
    }

    private sealed class TakingEveryone(WaitingConsumers inner) : IParkedConsumers
    {
        public IReadOnlyList<IParkedConsumer> Take(long queueId, int messages) => inner.Take(queueId, int.MaxValue);
    }
}

/// <summary>The same on PostgreSQL, whose store hands a send to a sleeping consumer in a transaction of its own.</summary>
public sealed class HandOffOnPostgresTests() : HandOffTests(BrokerApplication.OnPostgres())
{
    /// <summary>
    /// A send takes one sleeper here, never two. The one it did not take looks again when the commit fails, finds
    /// nothing, and waits on for the next message.
    /// </summary>
    public override async Task Every_consumer_taken_for_a_commit_that_fails_is_answered_with_a_503()
    {
        var queue = await Client.CreateQueueAsync();
        var first = Client.ConsumeResponseAsync(queue.Id, waitTime: 20);
        await AsleepAsync(queue.Id, 1);
        var second = Client.ConsumeResponseAsync(queue.Id, waitTime: 20);
        await AsleepAsync(queue.Id, 2);

        Run(
            """
            CREATE FUNCTION test_claims_fail() RETURNS trigger LANGUAGE plpgsql AS
                $$ BEGIN RAISE EXCEPTION 'a claim fails' USING ERRCODE = 'disk_full'; END $$;
            CREATE TRIGGER test_claims_fail BEFORE UPDATE OF reservation_token ON messages
                FOR EACH ROW EXECUTE FUNCTION test_claims_fail();
            """);
        using var send = await Client.PostAsync("/messages", Wire.Json(new SendMessageRequest(queue.Id, null, "its commit fails")));
        using var firstAnswer = await first.WaitAsync(TimeSpan.FromSeconds(10));

        await send.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable);
        await firstAnswer.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable);
        (await Client.CountsAsync(queue.Id)).QueueSize.Should().Be(0, "the send was rolled back with the claim");
        await AsleepAsync(queue.Id, 1);

        Run("DROP TRIGGER test_claims_fail ON messages");
        var id = await Client.SendAsync(queue.Id, "the next message");
        using var secondAnswer = await second.WaitAsync(TimeSpan.FromSeconds(10));
        (await secondAnswer.ReadAsync<MessageDto[]>()).Should().ContainSingle().Which.Id.Should().Be(id);
    }

    /// <summary>SQL in the broker's schema: a real failure of the server's, as a full disk fails a write (53100).</summary>
    private void Run(string sql)
    {
        using var connection = new NpgsqlConnection(App.PostgresConnectionString);
        connection.Open();
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }
}
