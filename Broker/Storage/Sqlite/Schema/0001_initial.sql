-- Times are Unix milliseconds (UTC), always passed in by the broker's clock.
CREATE TABLE queues (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

-- visible_at: when the message can next be received. created_at for a new message; the end of the
--   visibility timeout once claimed. A claim orders by (visible_at, id), so an expired reservation
--   rejoins the queue at its expiry time.
-- retrievable_at and reservation_token stay NULL until the first claim.
-- AUTOINCREMENT so that an id is never reused: a late delete by id can then never hit a newer message.
CREATE TABLE messages (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    queue_id          INTEGER NOT NULL,
    body              TEXT    NOT NULL,
    created_at        INTEGER NOT NULL,
    visible_at        INTEGER NOT NULL,
    retrievable_at    INTEGER,
    reservation_token TEXT,
    receive_count     INTEGER NOT NULL DEFAULT 0
);

-- The claim: a seek to (queue_id, visible_at <= now) read in (visible_at, rowid) order. Also covers the counts.
CREATE INDEX ix_messages_claim ON messages (queue_id, visible_at);

-- The peek (oldest id first) and deleting a queue's messages.
CREATE INDEX ix_messages_queue ON messages (queue_id);
