-- GET /queues reads each queue's size from a count kept with the queue instead of counting its messages on every
-- call: that count is a full scan of the queue's index entries (about 200 ms for a million messages), and the
-- DevTool's dashboard asks every few seconds. Triggers keep it exact whoever inserts or deletes, in the same
-- transaction as the change itself.
ALTER TABLE queues ADD COLUMN message_count INTEGER NOT NULL DEFAULT 0;

UPDATE queues SET message_count = (SELECT COUNT(*) FROM messages WHERE messages.queue_id = queues.id);

CREATE TRIGGER tr_messages_count_insert AFTER INSERT ON messages
BEGIN
    UPDATE queues SET message_count = message_count + 1 WHERE id = NEW.queue_id;
END;

CREATE TRIGGER tr_messages_count_delete AFTER DELETE ON messages
BEGIN
    UPDATE queues SET message_count = message_count - 1 WHERE id = OLD.queue_id;
END;
