-- The count triggers of schema 2, their UPDATE now OR FAIL. A statement that fires a trigger and could abort on a
-- constraint makes SQLite copy every page it first touches into a statement journal, so that it can undo just that
-- statement. Under FAIL nothing is undone but the failing row, and the commit writer rolls back the whole batch on any
-- error anyway. The message insert and the claim's update are OR FAIL for the same reason (SqliteSql.cs); what it
-- saved is in docs/performance.md.
DROP TRIGGER tr_messages_count_insert;
DROP TRIGGER tr_messages_count_delete;

CREATE TRIGGER tr_messages_count_insert AFTER INSERT ON messages
BEGIN
    UPDATE OR FAIL queues SET message_count = message_count + 1 WHERE id = NEW.queue_id;
END;

CREATE TRIGGER tr_messages_count_delete AFTER DELETE ON messages
BEGIN
    UPDATE OR FAIL queues SET message_count = message_count - 1 WHERE id = OLD.queue_id;
END;
