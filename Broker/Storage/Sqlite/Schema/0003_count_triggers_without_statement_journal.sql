-- The count triggers of schema 2, their UPDATE now OR FAIL. A statement that fires a trigger and could abort on a
-- constraint makes SQLite copy every page it first touches into a statement journal, so that it can undo just that
-- statement. FAIL undoes nothing, and the commit writer rolls back its whole batch on any error anyway. This is for
-- the deletes: an INSERT OR FAIL (SqliteSql.InsertMessage) already lends its policy to the triggers it fires. What
-- it saved is in docs/performance.md.
DROP TRIGGER IF EXISTS tr_messages_count_insert;
DROP TRIGGER IF EXISTS tr_messages_count_delete;

CREATE TRIGGER tr_messages_count_insert AFTER INSERT ON messages
BEGIN
    UPDATE OR FAIL queues SET message_count = message_count + 1 WHERE id = NEW.queue_id;
END;

CREATE TRIGGER tr_messages_count_delete AFTER DELETE ON messages
BEGIN
    UPDATE OR FAIL queues SET message_count = message_count - 1 WHERE id = OLD.queue_id;
END;
