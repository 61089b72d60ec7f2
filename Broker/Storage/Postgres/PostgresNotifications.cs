using System.Globalization;
using System.Threading.Channels;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;

namespace WonderQ.Broker.Storage.Postgres;

/// <summary>
/// Changes told between the brokers sharing a database. Each change that can make a message claimable (a publish, a
/// reservation, which runs out, a queue deleted) is announced once committed, several at a time: what gathered while
/// the last notification went out goes in the next, publishes to one queue as one count and reservations as the
/// earliest expiry, so under load a broker sends a notification per round trip rather than per request. The other
/// brokers' announcements arrive on one connection that listens, and raise the same <see cref="QueueActivity"/>
/// events their own changes raise. A notification lost with a dropped connection would leave a consumer asleep until
/// its wait ran out, so after listening again a broker wakes every waiting consumer to look again.
/// </summary>
internal sealed class PostgresNotifications(
    PostgresDatabase database,
    QueueActivity activity,
    TimeProvider time,
    IOptions<StorageOptions> options,
    ILogger<PostgresNotifications> logger) : BackgroundService
{
    // Tells this broker's own notifications, which it has acted on already, from the others'.
    private readonly string _origin = Guid.NewGuid().ToString("N")[..12];
    private readonly PostgresStorageOptions _options = options.Value.Postgres;
    private readonly Channel<Change> _changes = Channel.CreateUnbounded<Change>(new UnboundedChannelOptions { SingleReader = true });

    private enum Kind
    {
        Published,
        Reserved,
        Deleted,
    }

    public void Published(long queueId) => _changes.Writer.TryWrite(new Change(Kind.Published, queueId, 1));

    public void Reserved(long queueId, DateTimeOffset until) => _changes.Writer.TryWrite(new Change(Kind.Reserved, queueId, until.ToUnixTimeMilliseconds()));

    public void Deleted(long queueId) => _changes.Writer.TryWrite(new Change(Kind.Deleted, queueId, 0));

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.WhenAll(AnnounceAsync(stoppingToken), ListenAsync(stoppingToken));

    private async Task AnnounceAsync(CancellationToken stoppingToken)
    {
        var published = new Dictionary<long, long>();
        var reserved = new Dictionary<long, long>();
        var deleted = new HashSet<long>();
        var payloads = new List<string>();
        try
        {
            while (await _changes.Reader.WaitToReadAsync(stoppingToken))
            {
                while (_changes.Reader.TryRead(out var change))
                {
                    switch (change.Kind)
                    {
                        case Kind.Published:
                            published[change.QueueId] = published.GetValueOrDefault(change.QueueId) + change.Value;
                            break;
                        case Kind.Reserved:
                            reserved[change.QueueId] = reserved.TryGetValue(change.QueueId, out var until) ? Math.Min(until, change.Value) : change.Value;
                            break;
                        default:
                            deleted.Add(change.QueueId);
                            break;
                    }
                }

                payloads.Clear();
                payloads.AddRange(published.Select(p => Payload('p', p.Key, p.Value)));
                payloads.AddRange(reserved.Select(r => Payload('r', r.Key, r.Value)));
                payloads.AddRange(deleted.Select(d => Payload('d', d, 0)));
                published.Clear();
                reserved.Clear();
                deleted.Clear();
                await database.NotifyAsync(payloads, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private string Payload(char kind, long queueId, long value) =>
        string.Create(CultureInfo.InvariantCulture, $"{_origin} {kind} {queueId} {value}");

    private async Task ListenAsync(CancellationToken stoppingToken)
    {
        var listenedBefore = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await database.DataSource.OpenConnectionAsync(stoppingToken);
                connection.Notification += (_, e) => Handle(e.Payload);
                await connection.ExecuteAsync(new CommandDefinition($"LISTEN \"{database.Channel.Replace("\"", "\"\"", StringComparison.Ordinal)}\"", cancellationToken: stoppingToken));
                if (listenedBefore)
                {
                    logger.LogInformation("Listening for other brokers' changes again; every waiting consumer looks at its queue again");
                    activity.OnUnannounced();
                }

                listenedBefore = true;
                while (true)
                {
                    // A quiet connection says nothing when the server goes away: look at it now and then.
                    if (!await connection.WaitAsync(_options.NotificationCheckInterval, stoppingToken))
                    {
                        await connection.ExecuteAsync(new CommandDefinition("SELECT 1", cancellationToken: stoppingToken));
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
            {
                logger.LogWarning(
                    "Lost the connection that hears other brokers' changes ({Reason}); trying again in {Delay}",
                    ex.Message,
                    _options.NotificationRetryInterval);
                try
                {
                    await Task.Delay(_options.NotificationRetryInterval, time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private void Handle(string payload)
    {
        var parts = payload.Split(' ');
        if (parts.Length != 4
            || parts[0] == _origin
            || !long.TryParse(parts[2], CultureInfo.InvariantCulture, out var queueId)
            || !long.TryParse(parts[3], CultureInfo.InvariantCulture, out var value))
        {
            return;
        }

        // Counted before the event, as the broker's own changes are (QueueActivity.ChangesTo).
        activity.Changed(queueId);
        switch (parts[1])
        {
            case "p":
                activity.OnPublished(queueId, (int)Math.Min(value, int.MaxValue));
                break;
            case "r":
                activity.OnReserved(queueId, DateTimeOffset.FromUnixTimeMilliseconds(value));
                break;
            case "d":
                activity.OnQueueDeleted(queueId);
                break;
        }
    }

    private readonly record struct Change(Kind Kind, long QueueId, long Value);
}
