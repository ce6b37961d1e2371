-- karen schema v10: merging customers (decisions.md item 25); see the PostgreSQL migration 9.
-- The CHECK texts are edited in place as migration 7 does (a CHECK's text does not change how
-- rows are stored; existing rows satisfy the wider rules).
CREATE TABLE customer_merges (
    duplicate_id TEXT PRIMARY KEY NOT NULL,
    customer_id TEXT NOT NULL
        CONSTRAINT fk__customer_merges__customer_id REFERENCES customers(id) ON DELETE CASCADE,
    merged_at TEXT NOT NULL
);
CREATE INDEX idx_customer_merges_customer ON customer_merges(customer_id);

PRAGMA writable_schema = ON;
UPDATE sqlite_schema
    SET sql = replace(sql, '''expired'', ''deleted'')', '''expired'', ''deleted'', ''merged'')')
    WHERE type = 'table' AND name = 'customer_preference_history';
UPDATE sqlite_schema
    SET sql = replace(sql, '''request'', ''unsubscribe'')', '''request'', ''unsubscribe'', ''merge'')')
    WHERE type = 'table' AND name = 'customer_consents';
PRAGMA writable_schema = OFF;

DROP TRIGGER trg_customer_consents_never_edited;
CREATE TRIGGER trg_customer_consents_never_edited BEFORE UPDATE ON customer_consents
    WHEN (NEW.conversation_id IS NOT NULL AND NEW.conversation_id IS NOT OLD.conversation_id)
      OR (NEW.customer_id IS NOT OLD.customer_id AND NOT EXISTS (
            SELECT 1 FROM customer_merges WHERE duplicate_id = OLD.customer_id AND customer_id = NEW.customer_id))
      OR NEW.id IS NOT OLD.id OR NEW.channel IS NOT OLD.channel
      OR NEW.status IS NOT OLD.status OR NEW.cause IS NOT OLD.cause OR NEW.keyword IS NOT OLD.keyword
      OR NEW.note IS NOT OLD.note OR NEW.recorded_by IS NOT OLD.recorded_by OR NEW.recorded_at IS NOT OLD.recorded_at
    BEGIN SELECT RAISE(ABORT, 'ck__customer_consents__never_edited: the consent ledger is never edited'); END;
