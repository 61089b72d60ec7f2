-- A deleted queue's messages are removed a chunk at a time after the queue itself (Storage:Sqlite:PurgeBatchSize):
-- one DELETE of a million messages held the writer, and so every send, for about 10 s. A queue whose messages are
-- still being removed is listed here, in the transaction that deletes it, so a restart takes the purge up again.
CREATE TABLE queue_purges (
    queue_id INTEGER PRIMARY KEY
);
