using WonderQ.Shared.Contracts;

namespace WonderQ.Broker.Storage;

/// <summary>
/// Row shapes both stores read alike (times in Unix milliseconds), and their mapping to the wire contracts. A message's
/// row differs: SQLite keeps its body as text, PostgreSQL as UTF-8 bytes.
/// </summary>
internal static class StoreRows
{
    public static DateTimeOffset Time(long unixMilliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(unixMilliseconds);

    public sealed class QueueRow
    {
        public long Id { get; init; }
        public string Name { get; init; } = "";
        public long CreatedAt { get; init; }

        public QueueDto ToDto() => new(Id, Name, Time(CreatedAt));
    }

    public sealed class QueueCountsRow
    {
        public long Id { get; init; }
        public string Name { get; init; } = "";
        public long QueueSize { get; init; }
        public long InFlightSize { get; init; }

        public QueueCounts ToDto() => new(Id, Name, QueueSize, QueueSize - InFlightSize, InFlightSize);
    }

    public sealed class MessageVersionRow
    {
        public long Id { get; init; }
        public long CreatedAt { get; init; }
        public string? ReservationToken { get; init; }
        public int ReceiveCount { get; init; }

        public MessageVersion ToVersion() => new(Id, Time(CreatedAt), ReservationToken, ReceiveCount);
    }
}
