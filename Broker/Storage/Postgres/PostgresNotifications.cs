using System.Globalization;
using System.Threading.Channels;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;
using WonderQ.Shared.Web;

namespace WonderQ.Broker.Storage.Postgres;

/// <summary>
/// Changes told between the brokers sharing a database. Each change that can make a message claimable (a publish, a
/// reservation, which runs out, a queue deleted) is announced once committed, several at a time: what gathered while
/// the last notification went out goes in the next, publishes to one queue as one count and reservations as the
/// earliest expiry, so under load a broker sends a notification per round trip rather than per request. The other
/// brokers' announcements arrive on one connection that listens, and raise the same <see cref="QueueActivity"/>
/// events their own changes raise. A notification lost with a dropped connection would leave a consumer asleep until
/// its wait ran out, so each time it starts listening a broker wakes its waiting consumers to look again; and one it
/// could not send is kept and sent again until the server takes it.
/// </summary>
internal sealed class PostgresNotifications(
    PostgresDatabase database,
    QueueActivity activity,
    TimeProvider time,
    IOptions<StorageOptions> options,
    IOptions<OutageOptions> outages,
    ILogger<PostgresNotifications> logger) : BackgroundService
{
    private readonly LogThrottle _lostLog = new(time, outages.Value.LogInterval);

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

    public void Published(long queueId, int messages = 1) => _changes.Writer.TryWrite(new Change(Kind.Published, queueId, messages));

    public void Reserved(long queueId, DateTimeOffset until) => _changes.Writer.TryWrite(new Change(Kind.Reserved, queueId, until.ToUnixTimeMilliseconds()));

    public void Deleted(long queueId) => _changes.Writer.TryWrite(new Change(Kind.Deleted, queueId, 0));

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.WhenAll(AnnounceAsync(stoppingToken), ListenAsync(stoppingToken));

    private async Task AnnounceAsync(CancellationToken stoppingToken)
    {
        var pending = new Pending();
        try
        {
            while (await _changes.Reader.WaitToReadAsync(stoppingToken))
            {
                Gather(pending);

                // Kept until told, however long the server is away: a change never told leaves the other brokers'
                // consumers asleep beside it.
                while (!await database.NotifyAsync(pending.Payloads(_origin), stoppingToken))
                {
                    await Task.Delay(_options.NotificationRetryInterval, time, stoppingToken);
                    Gather(pending);
                }

                pending.Clear();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // What the last requests changed, told before the broker goes: its own consumers are leaving, the others' are not.
            Gather(pending);
            if (pending.Payloads(_origin) is { Count: > 0 } last && _options.FinalNotificationTimeout > TimeSpan.Zero)
            {
                using var deadline = new CancellationTokenSource(_options.FinalNotificationTimeout, time);
                try
                {
                    await database.NotifyAsync(last, deadline.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        }
    }

    private void Gather(Pending pending)
    {
        while (_changes.Reader.TryRead(out var change))
        {
            pending.Add(change);
        }
    }

    private async Task ListenAsync(CancellationToken stoppingToken)
    {
        var listenedBefore = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await database.DataSource.OpenConnectionAsync(stoppingToken);
                connection.Notification += (_, e) => Handle(e.Payload);
                if (connection.PostgreSqlVersion.Major >= 14)
                {
                    await connection.ExecuteAsync(new CommandDefinition(PostgresSql.KeepIdleSession, cancellationToken: stoppingToken));
                }

                await connection.ExecuteAsync(new CommandDefinition(
                    PostgresSql.Listen(database.Channel), new { channel = database.Channel }, cancellationToken: stoppingToken));

                // What others changed before this connection listened went unheard: before its first LISTEN the broker
                // already took requests, and between two it heard nothing.
                if (listenedBefore)
                {
                    logger.LogInformation("Listening for other brokers' changes again; the waiting consumers look at their queues again");
                }

                activity.Deaf = false;
                activity.OnUnannounced();
                listenedBefore = true;
                while (true)
                {
                    // A quiet connection says nothing when the server goes away: look at it now and then.
                    if (!await connection.WaitAsync(_options.NotificationCheckInterval, stoppingToken))
                    {
                        await connection.ExecuteAsync(new CommandDefinition(
                            PostgresSql.Check, commandTimeout: _options.NotificationCheckTimeoutSeconds, cancellationToken: stoppingToken));
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Whatever it was, a broker that stopped listening would leave its consumers deaf to the others. Until it
                // listens again its consumers look at their queues rather than trust that nothing changed (LongPoll).
                activity.Deaf = true;
                if (_lostLog.ShouldLog(out var unlogged, out _))
                {
                    // The server's own refusal (a permission, say) or the unexpected, with its trace; a lost connection without.
                    logger.LogWarning(
                        ex is PostgresException || ex is not (NpgsqlException or TimeoutException) ? ex : null,
                        "Not listening for other brokers' changes ({Reason}){Repeats}; trying again every {Delay}",
                        ex.Message,
                        LogThrottle.Repeats(unlogged, "failure", "failures"),
                        _options.NotificationRetryInterval);
                }

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

    /// <summary>Changes not told yet: publishes to a queue as one count, its reservations as the earliest expiry.</summary>
    private sealed class Pending
    {
        private readonly Dictionary<long, long> _published = [];
        private readonly Dictionary<long, long> _reserved = [];
        private readonly HashSet<long> _deleted = [];

        public void Add(Change change)
        {
            switch (change.Kind)
            {
                case Kind.Published:
                    _published[change.QueueId] = _published.GetValueOrDefault(change.QueueId) + change.Value;
                    break;
                case Kind.Reserved:
                    _reserved[change.QueueId] = _reserved.TryGetValue(change.QueueId, out var until) ? Math.Min(until, change.Value) : change.Value;
                    break;
                default:
                    _deleted.Add(change.QueueId);
                    break;
            }
        }

        public List<string> Payloads(string origin) =>
        [
            .. _published.Select(p => Payload(origin, 'p', p.Key, p.Value)),
            .. _reserved.Select(r => Payload(origin, 'r', r.Key, r.Value)),
            .. _deleted.Select(d => Payload(origin, 'd', d, 0)),
        ];

        public void Clear()
        {
            _published.Clear();
            _reserved.Clear();
            _deleted.Clear();
        }

        private static string Payload(string origin, char kind, long queueId, long value) =>
            string.Create(CultureInfo.InvariantCulture, $"{origin} {kind} {queueId} {value}");
    }
}
