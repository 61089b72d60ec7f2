using WonderQ.Shared.Contracts;

namespace WonderQ.Broker.Storage.Sqlite;

/// <summary>The SQLite store's rows as the SQL returns them (times in Unix milliseconds); the shapes both stores share are in <see cref="StoreRows"/>.</summary>
internal static class SqliteRows
{
    public static DateTimeOffset Time(long unixMilliseconds) => StoreRows.Time(unixMilliseconds);

    public static long Millis(DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    /// <summary>Message ids as the JSON array that <c>json_each($ids)</c> reads: one parameter however many there are.</summary>
    public static string IdList(List<long> ids) => "[" + string.Join(',', ids) + "]";

    /// <summary>Reads the columns id, name, created_at.</summary>
    public static QueueDto Queue(WriterStatement.Run r) => new(r.Int64(0), r.Text(1), Time(r.Int64(2)));

    /// <summary>Reads the columns id, queue_id, body, created_at, retrievable_at, reservation_token, receive_count.</summary>
    public static MessageDto Message(WriterStatement.Run r) => new(
        r.Int64(0),
        r.Int64(1),
        r.Text(2),
        Time(r.Int64(3)),
        r.NullableInt64(4) is { } retrievableAt ? Time(retrievableAt) : null,
        r.NullableText(5),
        (int)r.Int64(6));

    public sealed class MessageRow
    {
        public long Id { get; init; }
        public long QueueId { get; init; }
        public string Body { get; init; } = "";
        public long CreatedAt { get; init; }
        public long? RetrievableAt { get; init; }
        public string? ReservationToken { get; init; }
        public int ReceiveCount { get; init; }

        public MessageDto ToDto() => new(
            Id, QueueId, Body, Time(CreatedAt), RetrievableAt is { } at ? Time(at) : null, ReservationToken, ReceiveCount);
    }
}
