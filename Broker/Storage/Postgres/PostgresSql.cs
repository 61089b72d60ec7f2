namespace WonderQ.Broker.Storage.Postgres;

/// <summary>
/// Every statement the PostgreSQL store runs. Parameters only; times are Unix milliseconds from the broker's clock,
/// as in the SQLite store (<see cref="Sqlite.SqliteSql"/>), and tables are found on the connection's search_path.
/// </summary>
internal static class PostgresSql
{
    private const string MessageColumns = "id, queue_id, body, created_at, retrievable_at, reservation_token, receive_count";

    /// <summary>
    /// Held for the transaction that brings the schema up to date, so brokers started together upgrade it one after
    /// another. Keyed by the schema as well: deployments in two schemas of one database do not wait on each other.
    /// </summary>
    public const string LockSchema = "SELECT pg_advisory_xact_lock(1465996645, hashtext(current_schema()))";

    /// <summary>
    /// Asked before <see cref="CreateSchemaVersions"/>, whose IF NOT EXISTS does not spare a user without CREATE on the
    /// schema its refusal: a broker whose user was only granted the use of the tables must find them without trying.
    /// </summary>
    public const string SchemaVersionsExist = """
        SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = 'wonderq_schema')
        """;

    public const string CreateSchemaVersions = """
        CREATE TABLE IF NOT EXISTS wonderq_schema (
            version    integer     PRIMARY KEY,
            applied_at timestamptz NOT NULL DEFAULT now()
        )
        """;

    public const string SchemaVersion = "SELECT COALESCE(MAX(version), 0) FROM wonderq_schema";

    public const string RecordSchemaVersion = "INSERT INTO wonderq_schema (version) VALUES (@version)";

    /// <summary>
    /// What the connection's user may not do that the store does, as "INSERT on messages, ...", or null: a user granted
    /// too little otherwise started, answered its health check, and failed every write with a 500. <c>UPDATE</c> on
    /// queues too, which a batch of sends locks <c>FOR KEY SHARE</c>; the messages' id sequence is drawn from by name.
    /// </summary>
    public const string MissingPrivileges = """
        SELECT string_agg(what, ', ' ORDER BY n) FROM (
            SELECT (ti * 10) + pi AS n, format('%s on %s', p, t) AS what
            FROM (VALUES (1, 'queues'), (2, 'messages')) AS tables (ti, t)
            CROSS JOIN (VALUES (1, 'SELECT'), (2, 'INSERT'), (3, 'UPDATE'), (4, 'DELETE')) AS privileges (pi, p)
            WHERE NOT has_table_privilege(t, p)
            UNION ALL
            SELECT 30, 'SELECT on wonderq_schema' WHERE NOT has_table_privilege('wonderq_schema', 'SELECT')
            UNION ALL
            SELECT 40, 'USAGE on sequence ' || pg_get_serial_sequence('messages', 'id')
            WHERE NOT has_sequence_privilege(pg_get_serial_sequence('messages', 'id'), 'USAGE')
        ) AS missing
        """;

    /// <summary>Null when the connection's search_path names no schema that exists and its user may use (<c>USAGE</c>): there would be nowhere to create the tables.</summary>
    public const string CurrentSchema = "SELECT current_schema()";

    /// <summary>
    /// A create, three statements sent at once, which the server runs as one transaction (the extended protocol's
    /// implicit one, up to the batch's Sync) without waiting on the broker in between:
    /// <list type="number">
    /// <item>a lock, so that creates through several brokers take turns: each next statement reads afresh, so each
    /// counts the queues once the create before it has committed, and no two find room for the last queue the limit
    /// allows (keyed by the schema, as <see cref="LockSchema"/> is). Held only while the server runs the three: taken in
    /// a round trip of its own, a broker paused while holding it (a long GC, a frozen VM, a network that drops its
    /// packets) stalled every broker's creates until their pools' timeouts;</item>
    /// <item>the insert: no row when a queue of that name exists (looked up first, as the ON CONFLICT alone draws an id
    /// from the sequence, which the next queue's id then skipped), or when there are <c>@max</c> queues already;</item>
    /// <item>whether the name is taken, to tell the two apart.</item>
    /// </list>
    /// </summary>
    public const string CreateQueue = """
        SELECT pg_advisory_xact_lock(1465996646, hashtext(current_schema()));
        INSERT INTO queues (name, created_at)
        SELECT @name, @now
        WHERE NOT EXISTS (SELECT 1 FROM queues WHERE name = @name) AND (SELECT count(*) FROM queues) < @max
        ON CONFLICT (name) DO NOTHING
        RETURNING id, name, created_at;
        SELECT EXISTS (SELECT 1 FROM queues WHERE name = @name);
        """;

    public const string QueueById = "SELECT id, name, created_at FROM queues WHERE id = @id";

    public const string QueueByName = "SELECT id, name, created_at FROM queues WHERE name = @name";

    public const string QueueByIdAndName = "SELECT id, name, created_at FROM queues WHERE id = @id AND name = @name";

    /// <summary>The first statement of a repeatable-read transaction, which takes the snapshot the rest of it reads.</summary>
    public const string TakeSnapshot = "SELECT id FROM queues WHERE id = 0";

    /// <summary>
    /// Counted afresh on every call, from one snapshot: a size kept on the queue's row, as SQLite's triggers keep it,
    /// would make every send to a queue wait for the row lock of the one before it until that commits.
    /// </summary>
    public const string ListQueues = """
        SELECT q.id, q.name,
               (SELECT COUNT(*) FROM messages m WHERE m.queue_id = q.id) AS queue_size,
               (SELECT COUNT(*) FROM messages m WHERE m.queue_id = q.id AND m.visible_at > @now) AS in_flight_size
        FROM queues q
        ORDER BY q.id
        """;

    /// <summary>Its messages go with it (ON DELETE CASCADE), in the same transaction.</summary>
    public const string DeleteQueue = "DELETE FROM queues WHERE id = @id RETURNING id";

    /// <summary>
    /// A peek's messages: the queue's first <c>@size</c> by id, cut where their bodies pass <c>@max_bytes</c> (the first
    /// whatever its size; Limits:MaxBatchBytes), on the sizes alone (octet_length does not detoast a body), as on
    /// SQLite; the peek and its versions cut in the same place, so a tag taken from either names the same answer.
    /// </summary>
    private const string PeekFitting = """
        WITH head AS (
            SELECT id, octet_length(body) AS bytes FROM messages
            WHERE queue_id = @queue_id
            ORDER BY id
            LIMIT @size
        ), fitting AS (
            SELECT id FROM (SELECT id, row_number() OVER w AS n, sum(bytes) OVER w AS running FROM head WINDOW w AS (ORDER BY id)) h
            WHERE n = 1 OR running <= @max_bytes
        )

        """;

    public const string Peek = PeekFitting + $"SELECT {MessageColumns} FROM messages WHERE id IN (SELECT id FROM fitting) ORDER BY id";

    /// <summary>The peek's rows without their bodies.</summary>
    public const string PeekVersions = PeekFitting + """
        SELECT id, created_at, reservation_token, receive_count FROM messages WHERE id IN (SELECT id FROM fitting) ORDER BY id
        """;

    /// <summary>
    /// No row when there is no such queue; one deleted while this runs fails it on the foreign key (23503), which the
    /// store answers the same way.
    /// </summary>
    public const string InsertMessage = """
        INSERT INTO messages (queue_id, body, created_at, visible_at)
        SELECT id, @body, @now, @now FROM queues WHERE id = @queue_id
        RETURNING id
        """;

    /// <summary>
    /// Several sends in one statement (<see cref="PostgresSends"/>), each row numbered by its place in the arrays; a send
    /// to no such queue has no row, nor has one to a queue whose deletion holds its row: the queues are locked as the
    /// foreign key would lock them, but passing over those, so that such a send goes on its own and the rest of the batch
    /// does not wait seconds for the deletion. The ids are drawn first, so that each is known by its send's number:
    /// RETURNING says nothing of which input row made a row.
    /// </summary>
    public const string InsertMessages = """
        WITH open_queues AS (
            SELECT id FROM queues WHERE id = ANY (@queue_ids::bigint[]) FOR KEY SHARE SKIP LOCKED
        ), input AS (
            SELECT i.n, i.queue_id, i.body, nextval(pg_get_serial_sequence('messages', 'id')) AS id
            FROM unnest(@queue_ids::bigint[], @bodies::bytea[]) WITH ORDINALITY AS i(queue_id, body, n)
            WHERE i.queue_id IN (SELECT id FROM open_queues)
        ), inserted AS (
            INSERT INTO messages (id, queue_id, body, created_at, visible_at) OVERRIDING SYSTEM VALUE
            SELECT id, queue_id, body, @now::bigint, @now::bigint FROM input ORDER BY n
            RETURNING id
        )
        SELECT input.n, input.id FROM input JOIN inserted USING (id)
        """;

    /// <summary>
    /// The claim in one statement: the oldest retrievable rows in queue order (an index seek on ix_messages_claim),
    /// locked as they are read, skipping any row another broker's claim holds, then cut where their bodies pass
    /// <c>@max_bytes</c> (the first whatever its size; Limits:MaxBatchBytes) and reserved under a fresh token; a row
    /// cut off is unlocked as the statement commits, and the store announces it, since claims running meanwhile skipped
    /// it. A row another claim reserved and committed since this statement began is checked again once locked and no
    /// longer qualifies, so no message is handed out twice. <c>was_visible_at</c> gives the batch back its queue order,
    /// which RETURNING does not keep; <c>picked</c> says how many rows were locked, so how many the cut left out. The
    /// receive count stops at the integer column's largest value, as on SQLite: one more failed the claim, and with it
    /// every consume of the queue, whose oldest message it was.
    /// </summary>
    public const string Claim = """
        WITH picked AS (
            SELECT id, visible_at AS was_visible_at, octet_length(body) AS bytes FROM messages
            WHERE queue_id = @queue_id AND visible_at <= @now
            ORDER BY visible_at, id
            LIMIT @size
            FOR UPDATE SKIP LOCKED
        ), fitting AS (
            SELECT id, was_visible_at FROM (
                SELECT id, was_visible_at, row_number() OVER w AS n, sum(bytes) OVER w AS running
                FROM picked WINDOW w AS (ORDER BY was_visible_at, id)) p
            WHERE n = 1 OR running <= @max_bytes
        )
        UPDATE messages m
        SET visible_at = @until, retrievable_at = @until, reservation_token = @token, receive_count = LEAST(m.receive_count, 2147483646) + 1
        FROM fitting
        WHERE m.id = fitting.id
        RETURNING m.id, m.queue_id, m.body, m.created_at, m.retrievable_at, m.reservation_token, m.receive_count, fitting.was_visible_at,
            (SELECT count(*) FROM picked) AS picked
        """;

    /// <summary>
    /// A send handed to a consumer waiting on its queue: the message stored, then the consumer's batch claimed, the new
    /// message with it unless older ones fill the batch. Two statements in one command go to the server in one round
    /// trip and run as one transaction, which a failure of either rolls back.
    /// </summary>
    public const string HandOver = InsertMessage + ";\n" + Claim;

    public const string DeleteMessage = "DELETE FROM messages WHERE id = @id";

    public const string DeleteReservedMessage = "DELETE FROM messages WHERE id = @id AND reservation_token = @token";

    /// <summary>
    /// Several deletes in one statement (<see cref="PostgresDeletes"/>), each numbered by its place in the arrays (a null
    /// token deletes whatever the reservation). Only rows no other transaction holds are locked, so that a batch never
    /// waits for a claim or a queue's deletion, nor they for it in an order that could deadlock; and only rows whose
    /// token matches, compared on the row as locked, the latest committed: a stale acknowledgement locked the message
    /// too, and a claim running meanwhile skipped it, so its consumer waited out its wait_time beside a message it could
    /// have had. A row comes back for each message deleted; the others are judged one by one.
    /// </summary>
    public const string DeleteMessages = """
        WITH wanted AS (
            SELECT w.n, w.id, w.token FROM unnest(@ids::bigint[], @tokens::text[]) WITH ORDINALITY AS w(id, token, n)
        ), held AS (
            SELECT m.id FROM messages m JOIN wanted w ON w.id = m.id
            WHERE m.id = ANY (@ids::bigint[]) AND (w.token IS NULL OR w.token = m.reservation_token)
            FOR UPDATE OF m SKIP LOCKED
        ), deleted AS (
            DELETE FROM messages m USING held h WHERE m.id = h.id
            RETURNING m.id
        )
        SELECT w.n FROM wanted w JOIN deleted d ON d.id = w.id
        """;

    public const string MessageExists = "SELECT EXISTS (SELECT 1 FROM messages WHERE id = @id)";

    public const string NextExpiry = """
        SELECT MIN(visible_at) FROM messages
        WHERE queue_id = @queue_id AND visible_at > @after
        """;

    /// <summary>Where a starting broker's clock resumes (<see cref="StoreClock"/>): the latest time any broker stamped.</summary>
    public const string LatestStamp = """
        SELECT GREATEST(
            (SELECT created_at FROM messages ORDER BY id DESC LIMIT 1),
            (SELECT created_at FROM queues ORDER BY id DESC LIMIT 1))
        """;

    /// <summary>The server's clock, for a broker to compare its own with.</summary>
    public const string ServerClock = "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint";

    /// <summary>The health check: a read of the messages table, which needs the server, the database and the schema.</summary>
    public const string Ping = "SELECT COUNT(*) FROM messages WHERE id = 0";

    /// <summary>
    /// A broker's connection that hears the others' changes: named after the channel in pg_stat_activity, for an
    /// operator (and a test) to find, then listening. The channel is an identifier, quoted; the name a parameter.
    /// </summary>
    public static string Listen(string channel) =>
        $"SELECT set_config('application_name', @channel, false); LISTEN \"{channel.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";

    /// <summary>
    /// For the listening connection, idle between notifications by design: a server or role that ends idle sessions
    /// (<c>idle_session_timeout</c>, PostgreSQL 14 and later) would cut it every few seconds, and the broker would miss
    /// the other brokers' changes meanwhile.
    /// </summary>
    public const string KeepIdleSession = "SET idle_session_timeout = 0";

    /// <summary>That the listening connection is still there.</summary>
    public const string Check = "SELECT 1";

    /// <summary>
    /// Sent once the changes it announces have committed, several at a time (<see cref="PostgresNotifications"/>), in a
    /// transaction of its own that does not wait for a sync: PostgreSQL commits transactions that notify one at a time,
    /// under one lock, so a notification sent in a send's own transaction made every send wait for the sync of the one
    /// before (999 sends/s from 64 producers). A notification lost in a crash of the server only costs a consumer a
    /// later look.
    /// </summary>
    public const string Notify = """
        SELECT pg_notify(@channel, payload)
        FROM set_config('synchronous_commit', 'off', true), unnest(@payloads) AS payload
        """;
}
