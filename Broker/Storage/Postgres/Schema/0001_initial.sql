-- The SQLite schema's tables (Storage/Sqlite/Schema), in the schema the connection's search_path names first. Times
-- are Unix milliseconds from the broker's clock, as there, so every broker sharing the database compares the same way.
CREATE TABLE queues (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text   NOT NULL UNIQUE,
    created_at bigint NOT NULL
);

-- body: the UTF-8 bytes of the message, since PostgreSQL's text cannot hold U+0000 and a JSON string can.
-- Identity ids are never reused, so a late delete by id can never hit a newer message. A queue's messages go with it.
CREATE TABLE messages (
    id                bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    queue_id          bigint  NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
    body              bytea   NOT NULL,
    created_at        bigint  NOT NULL,
    visible_at        bigint  NOT NULL,
    retrievable_at    bigint,
    reservation_token text,
    receive_count     integer NOT NULL DEFAULT 0
);

-- The claim: a seek to (queue_id, visible_at <= now) read in (visible_at, id) order, so no sort however long the queue.
CREATE INDEX ix_messages_claim ON messages (queue_id, visible_at, id);

-- The peek (oldest id first), the counts, and the cascade of a queue's deletion.
CREATE INDEX ix_messages_queue ON messages (queue_id, id);
