namespace WonderQ.Broker.Storage.Sqlite;

/// <summary>
/// The statements the SQLite store runs on messages and queues (the schema scripts, pragmas and transaction control
/// are beside the code that runs them). Parameters only; times are Unix milliseconds from the broker's clock.
/// A bound <c>LIMIT</c> is written <c>+$size</c>: SQLite plans with a bare parameter's value there, so binding a new one
/// throws the compiled statement away and parses and plans it again on the next step. The writer's changes are
/// <c>OR FAIL</c> (and the count triggers', schema 0003): see <see cref="InsertMessage"/>.
/// </summary>
internal static class SqliteSql
{
    private const string MessageColumns = "id, queue_id, body, created_at, retrievable_at, reservation_token, receive_count";

    public const string InsertQueue = """
        INSERT INTO queues (name, created_at) VALUES ($name, $now)
        ON CONFLICT (name) DO NOTHING
        RETURNING id, name, created_at
        """;

    public const string CountQueues = "SELECT count(*) FROM queues";

    public const string QueueById = "SELECT id, name, created_at FROM queues WHERE id = $id";

    public const string QueueByName = "SELECT id, name, created_at FROM queues WHERE name = $name";

    public const string QueueByIdAndName = "SELECT id, name, created_at FROM queues WHERE id = $id AND name = $name";

    /// <summary>A read that starts a reader's snapshot of the file (WAL mode takes it at the first read, not at BEGIN).</summary>
    public const string TakeSnapshot = "SELECT id FROM queues WHERE id = 0";

    /// <summary>
    /// Each queue's size is the count its triggers keep (schema 0002); only the in-flight messages are counted, by a
    /// seek on the claim index to those whose visibility timeout still runs, and the rest are retrievable. A new
    /// message's visible_at is its creation time, so it counts as retrievable.
    /// </summary>
    public const string ListQueues = """
        SELECT q.id, q.name, q.message_count AS queue_size,
               (SELECT COUNT(*) FROM messages m INDEXED BY ix_messages_claim
                WHERE m.queue_id = q.id AND m.visible_at > $now) AS in_flight_size
        FROM queues q
        ORDER BY q.id
        """;

    public const string DeleteQueue = "DELETE FROM queues WHERE id = $queue_id";

    /// <summary>
    /// Up to <c>$limit</c> messages of a deleted queue with the size of each body, for the writer to remove a chunk at
    /// a time (<see cref="WriterCommands.PurgeChunk"/>). octet_length takes the size from the row's header: reading a
    /// large body would cost what its delete costs.
    /// </summary>
    public const string SelectPurgeChunk = """
        SELECT id, octet_length(body) FROM messages INDEXED BY ix_messages_queue
        WHERE queue_id = $queue_id
        LIMIT +$limit
        """;

    public const string DeleteMessages = "DELETE FROM messages WHERE id IN (SELECT value FROM json_each($ids))";

    public const string InsertPurge = "INSERT OR IGNORE INTO queue_purges (queue_id) VALUES ($queue_id)";

    public const string DeletePurge = "DELETE FROM queue_purges WHERE queue_id = $queue_id";

    public const string PendingPurges = "SELECT queue_id FROM queue_purges ORDER BY queue_id";

    /// <summary>
    /// A peek's messages: the queue's first <c>$size</c> by id, cut where their bodies pass <c>$max_bytes</c> (the first
    /// whatever its size; Limits:MaxBatchBytes). The cut is made on the sizes alone, which octet_length reads from each
    /// row's header, so the bodies left out are never read; the peek and its versions cut in the same place, so a tag
    /// taken from either names the same answer.
    /// </summary>
    private const string PeekFitting = """
        WITH head AS (
            SELECT id, octet_length(body) AS bytes FROM messages INDEXED BY ix_messages_queue
            WHERE queue_id = $queue_id
            ORDER BY id
            LIMIT +$size
        ), fitting AS (
            SELECT id FROM (SELECT id, row_number() OVER w AS n, sum(bytes) OVER w AS running FROM head WINDOW w AS (ORDER BY id))
            WHERE n = 1 OR running <= $max_bytes
        )

        """;

    public const string Peek = PeekFitting + $"SELECT {MessageColumns} FROM messages WHERE id IN (SELECT id FROM fitting) ORDER BY id";

    /// <summary>The peek's rows without their bodies, which in a large message SQLite reads from a chain of pages.</summary>
    public const string PeekVersions = PeekFitting + """
        SELECT id, created_at, reservation_token, receive_count FROM messages WHERE id IN (SELECT id FROM fitting) ORDER BY id
        """;

    /// <summary>
    /// OR FAIL, so that SQLite keeps no statement journal (a copy of each page the statement first touches, to undo
    /// it alone if a constraint aborts it): an error fails the writer's whole batch, which it rolls back.
    /// </summary>
    public const string InsertMessage = """
        INSERT OR FAIL INTO messages (queue_id, body, created_at, visible_at) VALUES ($queue_id, $body, $now, $now)
        RETURNING id
        """;

    /// <summary>
    /// The claim, step one: the oldest retrievable ids in queue order (an index seek on ix_messages_claim, read in
    /// index order, so no sort however long the queue), with the size of each body, for Limits:MaxBatchBytes
    /// (octet_length reads it from the row's header, not the body).
    /// </summary>
    public const string SelectClaimable = """
        SELECT id, octet_length(body) FROM messages INDEXED BY ix_messages_claim
        WHERE queue_id = $queue_id AND visible_at <= $now
        ORDER BY visible_at, id
        LIMIT +$size
        """;

    /// <summary>
    /// The claim, step two: reserve those rows under a fresh token and read back exactly the rows that carry it.
    /// Both steps run in the writer's one transaction, so nothing can claim the rows in between. The receive count stops
    /// at the largest a message's <c>receive_count</c> (an int) can say, as on PostgreSQL, whose integer column refuses
    /// one more: read back past it, the count came out negative and the message broke every peek of its queue.
    /// </summary>
    public const string Reserve = $"""
        UPDATE OR FAIL messages
        SET visible_at = $until, retrievable_at = $until, reservation_token = $token, receive_count = min(receive_count, 2147483646) + 1
        WHERE id IN (SELECT value FROM json_each($ids))
        RETURNING {MessageColumns}
        """;

    /// <summary>A message of a deleted queue whose purge has not reached it yet is gone all the same (here and below).</summary>
    private const string QueueExists = "EXISTS (SELECT 1 FROM queues WHERE queues.id = messages.queue_id)";

    public const string DeleteMessage = $"DELETE FROM messages WHERE id = $id AND {QueueExists}";

    public const string DeleteReservedMessage = $"DELETE FROM messages WHERE id = $id AND reservation_token = $token AND {QueueExists}";

    public const string MessageExists = $"SELECT 1 FROM messages WHERE id = $id AND {QueueExists}";

    /// <summary>
    /// The health check: a seek in the messages table on a reader's connection, as a request's read, so it needs the
    /// file's header, its schema and the table's pages. A <c>SELECT 1</c> reads nothing from the file: it answers
    /// even when the file is no database any more. Beside the writer (WAL), so a check never waits behind commits.
    /// </summary>
    public const string Ping = "SELECT COUNT(*) FROM messages WHERE id = 0";

    /// <summary>
    /// The creation time of the newest message and of the newest queue, whichever is later (null in an empty file):
    /// where a restarted broker's clock resumes (<see cref="StoreClock"/>). Ids only grow, so the newest is the last id.
    /// </summary>
    public const string LatestStamp = """
        SELECT MAX(created_at) FROM (
            SELECT created_at FROM messages WHERE id = (SELECT MAX(id) FROM messages)
            UNION ALL
            SELECT created_at FROM queues WHERE id = (SELECT MAX(id) FROM queues))
        """;

    public const string NextExpiry = """
        SELECT MIN(visible_at) FROM messages INDEXED BY ix_messages_claim
        WHERE queue_id = $queue_id AND visible_at > $after
        """;
}
