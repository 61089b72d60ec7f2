using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using FluentAssertions;
using Microsoft.Data.Sqlite;
using WonderQ.Reliability.Tests.Support;
using WonderQ.Shared.Contracts;
using WonderQ.Shared.Json;
using Xunit.Abstractions;

namespace WonderQ.Reliability.Tests.CrashSafety;

/// <summary>
/// The durability promise under the worst stop there is: producers and consumers at full tilt while the broker is
/// killed with SIGKILL again and again, restarted each time on the same file and port, and finally drained.
/// </summary>
public sealed class KillNineTests(ITestOutputHelper output)
{
    private const int Kills = 5;
    private const int Producers = 8;
    private const int Consumers = 3;
    private const int VisibilityTimeoutSeconds = 3;
    private static TimeSpan StartDeadline => TimeSpan.FromSeconds(60);
    private static TimeSpan DrainDeadline => TimeSpan.FromSeconds(60);
    private static TimeSpan LoadDeadline => TimeSpan.FromSeconds(20);

    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ConcurrentDictionary<string, byte> _attempted = new();
    private readonly ConcurrentDictionary<string, byte> _acknowledged = new();
    private readonly ConcurrentQueue<Receipt> _receipts = new();
    private readonly ConcurrentDictionary<long, long> _deletedAt = new();
    private readonly ConcurrentQueue<string> _failures = new();
    private int _deleteConflicts;

    /// <summary>Set just before each kill: from then on a request may fail without an answer; before it, none may.</summary>
    private volatile bool _killIssued;

    [Fact]
    public async Task Every_acknowledged_message_is_delivered_after_repeated_kill_9_and_none_is_deleted_unreceived()
    {
        // Arrange
        using var database = new TempDatabase();
        var port = FreePort.Next();
        var queue = Json.UniqueQueueName("crash");
        var random = new Random(20261129);
        var delivered = new HashSet<string>();
        AppProcess? broker = null;
        try
        {
            // Act: load, kill -9, restart on the same file and port; Kills times over.
            for (var round = 0; round < Kills; round++)
            {
                // A client per broker, so that no connection to the killed one is still pooled when the next round starts.
                using var client = NewClient(port);
                broker = AppProcess.StartBroker(database.Path, port);
                await broker.WaitReadyAsync(within: StartDeadline);
                if (round == 0)
                {
                    await client.CreateQueueAsync(queue);
                }

                _killIssued = false;
                var acknowledgedBefore = _acknowledged.Count;
                var receivedBefore = _receipts.Count;
                using var load = new CancellationTokenSource();
                var workers = Enumerable.Range(0, Producers).Select(p => ProduceAsync(client, queue, $"r{round}p{p}", load.Token))
                    .Concat(Enumerable.Range(0, Consumers).Select(_ => ConsumeAsync(client, queue, load.Token)))
                    .ToList();
                try
                {
                    // Let the load build up (this round's sends acknowledged and messages received), then pull the plug
                    // at a random moment. A round whose load never got going would kill an idle broker and prove nothing.
                    var loaded = await Eventually.WithinAsync(() => _acknowledged.Count - acknowledgedBefore >= 20 && _receipts.Count > receivedBefore, LoadDeadline);
                    loaded.Should().BeTrue(
                        $"round {round}'s load must get going before the kill ({_acknowledged.Count - acknowledgedBefore} sends acknowledged, " +
                        $"{_receipts.Count - receivedBefore} messages received in {LoadDeadline}; failures: {string.Join(" | ", _failures.Take(5))})");
                    await Task.Delay(random.Next(400, 1200));
                    _killIssued = true;
                    broker.Kill();
                    broker.Dispose();
                    broker = null;
                }
                finally
                {
                    await load.CancelAsync();
                    await Task.WhenAll(workers);
                }
            }

            using var drainClient = NewClient(port);
            broker = AppProcess.StartBroker(database.Path, port);
            await broker.WaitReadyAsync(within: StartDeadline);
            await DrainAsync(drainClient, queue);
            broker.Kill();
            broker.Dispose();
            broker = null;
        }
        finally
        {
            broker?.Dispose();
        }

        // Assert
        foreach (var receipt in _receipts)
        {
            delivered.Add(receipt.Body);
        }

        var lost = _acknowledged.Keys.Where(body => !delivered.Contains(body)).ToList();
        var invented = delivered.Where(body => !_attempted.ContainsKey(body)).ToList();
        var idsWithTwoBodies = _receipts.GroupBy(r => r.Id).Where(g => g.Select(r => r.Body).Distinct().Count() > 1).Select(g => g.Key).ToList();
        var resurrected = _receipts.Where(r => _deletedAt.TryGetValue(r.Id, out var at) && r.RequestedAt > at).ToList();
        var deletedUnreceived = _deletedAt.Keys.Where(id => !_receipts.Any(r => r.Id == id)).ToList();
        var duplicates = _receipts.GroupBy(r => r.Body).Sum(g => g.Count() - 1);
        var overlapping = OverlappingClaims(_receipts).ToList();

        output.WriteLine($"messages acknowledged (201): {_acknowledged.Count} of {_attempted.Count} sent");
        output.WriteLine($"kills (SIGKILL mid-load):    {Kills}");
        output.WriteLine($"delivered (distinct bodies): {delivered.Count} in {_receipts.Count} receipts");
        output.WriteLine($"deleted with token (200):    {_deletedAt.Count}; claimed again since (409/404): {_deleteConflicts}");
        output.WriteLine($"duplicates after crashes:    {duplicates}");
        output.WriteLine($"losses:                      {lost.Count}");
        output.WriteLine($"failures before a kill:      {_failures.Count}");
        foreach (var failure in _failures.Take(10))
        {
            output.WriteLine($"  {failure}");
        }

        output.WriteLine($"overlapping claims:          {overlapping.Count}");

        _acknowledged.Should().NotBeEmpty("the producers must have got messages through between the kills");
        lost.Should().BeEmpty("every message answered 201 was committed and must be delivered after the crashes");
        invented.Should().BeEmpty("the broker can only hand out bodies someone sent");
        idsWithTwoBodies.Should().BeEmpty("an id always carries the body it was sent with");
        deletedUnreceived.Should().BeEmpty("a message is only deleted by the consumer that received it");
        resurrected.Should().BeEmpty("a message whose delete was answered 200 is gone for good, crash or not");
        overlapping.Should().BeEmpty("a redelivery, crash or not, comes only after the previous reservation ran out");
        _failures.Should().BeEmpty("until it is killed, the broker answers every request, each with its expected status");

        var integrity = IntegrityCheck(database.Path, out var remaining);
        output.WriteLine($"integrity_check:             {integrity}; rows left: {remaining}");
        integrity.Should().Be("ok");
        remaining.Should().Be(0, "the drain deleted every message");
    }

    private async Task ProduceAsync(HttpClient client, string queue, string producer, CancellationToken cancellationToken)
    {
        for (var seq = 0; !cancellationToken.IsCancellationRequested; seq++)
        {
            var body = $"{producer}-{seq}-{Guid.NewGuid():N}";
            _attempted.TryAdd(body, 0);
            try
            {
                using var response = await client.PostAsJsonAsync("/messages", new { queue_name = queue, body }, WonderQJson.Options, cancellationToken);
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    _acknowledged.TryAdd(body, 0);
                }
                else
                {
                    await NoteUnexpectedAsync(response, HttpStatusCode.Created);
                }
            }
            catch (Exception ex) when (IsRequestFailure(ex))
            {
                // Once the kill is issued the broker is down or going down mid-request: this body's fate is unknown, which is allowed.
                NoteFailure("POST /messages", ex, cancellationToken);
                await Pause(cancellationToken);
            }
        }
    }

    private async Task ConsumeAsync(HttpClient client, string queue, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await ConsumeOnceAsync(client, queue, size: 5, waitTime: 1, VisibilityTimeoutSeconds, cancellationToken);
            }
            catch (Exception ex) when (IsRequestFailure(ex))
            {
                NoteFailure("GET /messages/consume or a DELETE of what it returned", ex, cancellationToken);
                await Pause(cancellationToken);
            }
        }
    }

    /// <summary>One consume and the deletes of what it returned, each with its reservation token.</summary>
    private async Task<int> ConsumeOnceAsync(HttpClient client, string queue, int size, int waitTime, int visibilityTimeout, CancellationToken cancellationToken)
    {
        var requestedAt = _clock.ElapsedTicks;
        using var response = await client.GetAsync(
            $"/messages/consume?queue_name={queue}&size={size}&wait_time={waitTime}&visibility_timeout={visibilityTimeout}", cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            await NoteUnexpectedAsync(response, HttpStatusCode.OK);
            return 0;
        }

        var messages = (await response.Content.ReadFromJsonAsync<List<MessageDto>>(WonderQJson.Options, cancellationToken))!;
        foreach (var message in messages)
        {
            _receipts.Enqueue(new Receipt(
                message.Id, message.Body, requestedAt, message.ReceiveCount, message.RetrievableAt!.Value - TimeSpan.FromSeconds(visibilityTimeout), message.RetrievableAt.Value));
        }

        foreach (var message in messages)
        {
            using var deleted = await client.DeleteAsync(
                $"/messages/{message.Id}?reservation_token={Uri.EscapeDataString(message.ReservationToken!)}", cancellationToken);
            if (deleted.StatusCode == HttpStatusCode.OK)
            {
                _deletedAt.TryAdd(message.Id, _clock.ElapsedTicks);
            }
            else if (deleted.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.NotFound && DateTimeOffset.UtcNow >= message.RetrievableAt)
            {
                // The reservation ran out and another consumer claimed the message (409), and perhaps deleted it too
                // (404): it was received again, not lost. While the reservation runs, either answer is a failure.
                Interlocked.Increment(ref _deleteConflicts);
            }
            else
            {
                await NoteUnexpectedAsync(deleted, HttpStatusCode.OK);
            }
        }

        return messages.Count;
    }

    /// <summary>Consume and delete until the queue holds nothing, reservations from before the last kill included.</summary>
    private async Task DrainAsync(HttpClient client, string queue)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < DrainDeadline)
        {
            var received = await ConsumeOnceAsync(client, queue, size: 100, waitTime: 1, visibilityTimeout: 60, CancellationToken.None);
            if (received == 0 && await QueueSizeAsync(client, queue) == 0)
            {
                return;
            }
        }

        throw new TimeoutException($"The queue still held {await QueueSizeAsync(client, queue)} messages after {DrainDeadline}.");
    }

    private static async Task<long> QueueSizeAsync(HttpClient client, string queue)
    {
        var queues = await client.GetFromJsonAsync<List<QueueCounts>>("/queues", WonderQJson.Options);
        return queues!.Single(q => q.Name == queue).QueueSize;
    }

    /// <summary>An answer the broker gave, but not the one expected: a failure whenever it comes, 4xx as much as 5xx.</summary>
    private async Task NoteUnexpectedAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        _failures.Enqueue($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.PathAndQuery} → {(int)response.StatusCode} (expected {(int)expected}): {body}");
    }

    /// <summary>
    /// A request that got no answer to read: refused, cut off, timed out, or a body that is not the JSON promised.
    /// Allowed once the kill is issued (or the load stopped); before it, the broker was running and owed an answer.
    /// </summary>
    private void NoteFailure(string request, Exception ex, CancellationToken cancellationToken)
    {
        if (!_killIssued && !cancellationToken.IsCancellationRequested)
        {
            _failures.Enqueue($"{request} failed while the broker ran: {ex.GetType().Name}: {ex.Message}");
        }
    }

    private static bool IsRequestFailure(Exception ex) =>
        ex is HttpRequestException or IOException or System.Text.Json.JsonException or OperationCanceledException;

    private static HttpClient NewClient(int port) =>
        new(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(2) })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{port}"),
            Timeout = TimeSpan.FromSeconds(15),
        };

    private static async Task Pause(CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(50, cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static string IntegrityCheck(string path, out long remaining)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        using var check = connection.CreateCommand();
        check.CommandText = "PRAGMA integrity_check;";
        var result = (string)check.ExecuteScalar()!;
        using var count = connection.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM messages;";
        remaining = (long)count.ExecuteScalar()!;
        return result;
    }

    /// <summary>One message as a consume returned it; the claim and expiry times are the broker's own clock.</summary>
    private sealed record Receipt(long Id, string Body, long RequestedAt, int ReceiveCount, DateTimeOffset ClaimedAt, DateTimeOffset RetrievableAt);

    /// <summary>Claims of one message that overlap: the later one made before the earlier reservation ran out.</summary>
    private static IEnumerable<string> OverlappingClaims(IEnumerable<Receipt> receipts) =>
        receipts.GroupBy(r => r.Id).SelectMany(g =>
        {
            var ordered = g.OrderBy(r => r.ReceiveCount).ToList();
            return ordered.Zip(ordered.Skip(1))
                .Where(pair => pair.Second.ReceiveCount <= pair.First.ReceiveCount || pair.Second.ClaimedAt < pair.First.RetrievableAt)
                .Select(pair => $"message {g.Key}: claim #{pair.Second.ReceiveCount} at {pair.Second.ClaimedAt:O} " +
                                $"inside claim #{pair.First.ReceiveCount}'s window until {pair.First.RetrievableAt:O}");
        });
}
