-- karen schema v9: customer_consents, the consent ledger (decisions.md item 24); see the
-- PostgreSQL migration 8.
CREATE TABLE customer_consents (
    id TEXT PRIMARY KEY NOT NULL,
    customer_id TEXT NOT NULL
        CONSTRAINT fk__customer_consents__customer_id REFERENCES customers(id) ON DELETE CASCADE,
    channel TEXT NOT NULL CONSTRAINT ck__customer_consents__channel CHECK (channel IN ('sms', 'email', 'voice')),
    status TEXT NOT NULL CONSTRAINT ck__customer_consents__status CHECK (status IN ('opted_in', 'opted_out')),
    cause TEXT NOT NULL CONSTRAINT ck__customer_consents__cause CHECK (cause IN ('keyword', 'request', 'unsubscribe')),
    keyword TEXT CONSTRAINT ck__customer_consents__keyword CHECK (keyword IS NULL OR length(keyword) <= 20),
    conversation_id TEXT
        CONSTRAINT fk__customer_consents__conversation_id REFERENCES conversations(id) ON DELETE SET NULL,
    note TEXT CONSTRAINT ck__customer_consents__note CHECK (note IS NULL OR length(note) <= 500),
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX idx_customer_consents_customer ON customer_consents(customer_id, channel, id);
CREATE INDEX idx_customer_consents_conversation ON customer_consents(conversation_id) WHERE conversation_id IS NOT NULL;
CREATE TRIGGER trg_customer_consents_never_edited BEFORE UPDATE ON customer_consents
    WHEN NEW.conversation_id IS NOT NULL
      OR NEW.id IS NOT OLD.id OR NEW.customer_id IS NOT OLD.customer_id OR NEW.channel IS NOT OLD.channel
      OR NEW.status IS NOT OLD.status OR NEW.cause IS NOT OLD.cause OR NEW.keyword IS NOT OLD.keyword
      OR NEW.note IS NOT OLD.note OR NEW.recorded_by IS NOT OLD.recorded_by OR NEW.recorded_at IS NOT OLD.recorded_at
    BEGIN SELECT RAISE(ABORT, 'ck__customer_consents__never_edited: the consent ledger is never edited'); END;
