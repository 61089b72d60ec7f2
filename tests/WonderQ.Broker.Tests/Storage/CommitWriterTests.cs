using System.Net;
using Microsoft.Extensions.DependencyInjection;
using WonderQ.Broker.Storage;
using WonderQ.Broker.Storage.Sqlite;
using WonderQ.Shared.Contracts;

namespace WonderQ.Broker.Tests.Storage;

/// <summary>
/// The commit writer's batches, made exactly: the writer is held inside a batch of its own (<see cref="HoldOperation"/>)
/// while the next gathers the changes a test hands it.
/// </summary>
public sealed class CommitWriterTests : FreshBroker
{
    /// <summary>
    /// A batch the writer rolls back undoes every change in it, a queue created there too. The writer remembers the
    /// queues it has seen, so that a send skips the lookup: it must forget one whose creation was undone, or it would
    /// store messages, and answer 201 for them, in a queue that does not exist.
    /// </summary>
    [Fact]
    public async Task A_queue_created_in_a_batch_that_rolls_back_takes_no_messages_afterwards()
    {
        await CreateInABatchThatRollsBackAsync("rolled-back", maxQueues: 10);

        // Act
        using var sent = await Client.PostAsync("/messages", Wire.Json(new SendMessageRequest(null, "rolled-back", "to a queue that is not there")));

        // Assert
        await sent.ShouldBeProblemAsync(HttpStatusCode.NotFound);
    }

    /// <summary>
    /// The writer keeps its count of the queues rather than count them for every create (Limits:MaxQueues): a queue
    /// whose creation was undone must not stay counted, or it would take the place of one that could be created.
    /// </summary>
    [Fact]
    public async Task A_queue_created_in_a_batch_that_rolls_back_leaves_its_place_under_the_queue_limit()
    {
        await CreateInABatchThatRollsBackAsync("rolled-back", maxQueues: 1);

        var next = await App.Services.GetRequiredService<SqliteCommitWriter>().RunAsync(new CreateQueueOperation("in-its-place", 1, CancellationToken.None));

        next.Outcome.Should().Be(CreateQueueOutcome.Created);
    }

    /// <summary>The writer held in one batch while the next gathers a queue's creation and a change that fails, which rolls it back.</summary>
    private async Task CreateInABatchThatRollsBackAsync(string name, int maxQueues)
    {
        var writer = App.Services.GetRequiredService<SqliteCommitWriter>();
        var hold = new HoldOperation();
        var held = writer.RunAsync(hold);
        await hold.Entered.WaitAsync(TimeSpan.FromSeconds(10));
        var created = writer.RunAsync(new CreateQueueOperation(name, maxQueues, CancellationToken.None));
        var failed = writer.RunAsync(new FailingOperation());
        hold.Release.Set();
        await held;
        await FluentActions.Awaiting(() => created).Should().ThrowAsync<StoreUnavailableException>();
        await FluentActions.Awaiting(() => failed).Should().ThrowAsync<StoreUnavailableException>();
    }

    /// <summary>
    /// A consumer that leaves (a long poll given up, a client timing out) while its claim waits for the writer: claimed
    /// anyway, its messages would stay invisible to every other consumer for the visibility timeout, handed to no one.
    /// </summary>
    [Fact]
    public async Task A_claim_whose_consumer_left_before_the_writer_reached_it_claims_nothing()
    {
        // Arrange: a claim queued behind a held batch, whose consumer then leaves.
        var queue = await Client.CreateQueueAsync();
        var id = await Client.SendAsync(queue.Id, "still there for the next consumer");
        var writer = App.Services.GetRequiredService<SqliteCommitWriter>();
        var hold = new HoldOperation();
        var held = writer.RunAsync(hold);
        await hold.Entered.WaitAsync(TimeSpan.FromSeconds(10));
        using var leaving = new CancellationTokenSource();
        var claim = writer.RunAsync(new ClaimOperation(QueueRef.ById(queue.Id), 1, 1024, TimeSpan.FromSeconds(30), leaving.Token));
        await leaving.CancelAsync();
        hold.Release.Set();
        await held;

        // Act
        var next = await Client.ConsumeAsync(queue.Id);

        // Assert
        next.Should().ContainSingle().Which.Should().Match<MessageDto>(m => m.Id == id && m.ReceiveCount == 1);
        await FluentActions.Awaiting(() => claim).Should().ThrowAsync<OperationCanceledException>();
    }
    /// <summary>
    /// An I/O error on a commit's sync can come after SQLite wrote the commit, which then stands (CommitFailure): its
    /// sends are answered 503, but their messages are there, and a consumer waiting on their queue must be woken for
    /// them rather than sleep through its wait.
    /// </summary>
    [Fact]
    public async Task A_consumer_waiting_on_a_queue_is_woken_by_a_send_whose_batch_failed_in_a_way_that_may_have_committed()
    {
        // Arrange: a consumer asleep on the queue; a send and a commit that fails after it is written, in one batch.
        var queue = await Client.CreateQueueAsync();
        var consume = Client.ConsumeAsync(queue.Id, waitTime: 20);
        await AsleepAsync(queue.Id);
        var writer = App.Services.GetRequiredService<SqliteCommitWriter>();
        var hold = new HoldOperation();
        var held = writer.RunAsync(hold);
        await hold.Entered.WaitAsync(TimeSpan.FromSeconds(10));
        var sent = writer.RunAsync(new SendOperation(QueueRef.ById(queue.Id), "written before the error", CancellationToken.None));
        var failed = writer.RunAsync(new CommitThenFailOperation());

        // Act
        hold.Release.Set();
        await held;

        // Assert: the fake clock stands still, so a consumer not woken would wait forever.
        (await FluentActions.Awaiting(() => sent).Should().ThrowAsync<StoreUnavailableException>()).Which.MayHaveCommitted.Should().BeTrue();
        (await consume.WaitAsync(TimeSpan.FromSeconds(10))).Should().ContainSingle().Which.Body.Should().Be("written before the error");
        await FluentActions.Awaiting(() => failed).Should().ThrowAsync<StoreUnavailableException>();
    }
}
