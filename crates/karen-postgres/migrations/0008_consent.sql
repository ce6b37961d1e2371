-- karen schema v8: customer_consents, the consent ledger (decisions.md item 24). Each change of
-- a customer's consent on a channel is a row; the current status is the latest (by id, a
-- UUIDv7). Rows are never edited: the only change allowed is the conversation reference going
-- NULL when that message is deleted. They are erased with their customer.
CREATE TABLE customer_consents (
    id UUID PRIMARY KEY,
    customer_id UUID NOT NULL
        CONSTRAINT fk__customer_consents__customer_id REFERENCES customers(id) ON DELETE CASCADE,
    channel VARCHAR(10) NOT NULL CONSTRAINT ck__customer_consents__channel CHECK (channel IN ('sms', 'email', 'voice')),
    status VARCHAR(10) NOT NULL CONSTRAINT ck__customer_consents__status CHECK (status IN ('opted_in', 'opted_out')),
    cause VARCHAR(20) NOT NULL
        CONSTRAINT ck__customer_consents__cause CHECK (cause IN ('keyword', 'request', 'unsubscribe')),
    keyword VARCHAR(20),
    conversation_id UUID
        CONSTRAINT fk__customer_consents__conversation_id REFERENCES conversations(id) ON DELETE SET NULL,
    note VARCHAR(500),
    recorded_by VARCHAR(50) NOT NULL,
    recorded_at TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE INDEX idx_customer_consents_customer ON customer_consents(customer_id, channel, id);
CREATE INDEX idx_customer_consents_conversation ON customer_consents(conversation_id) WHERE conversation_id IS NOT NULL;

CREATE FUNCTION karen_consent_is_never_edited() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.conversation_id IS NULL
       AND (NEW.id, NEW.customer_id, NEW.channel, NEW.status, NEW.cause, NEW.keyword, NEW.note, NEW.recorded_by, NEW.recorded_at)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.customer_id, OLD.channel, OLD.status, OLD.cause, OLD.keyword, OLD.note, OLD.recorded_by, OLD.recorded_at)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the consent ledger is never edited' USING ERRCODE = 'check_violation',
        CONSTRAINT = 'ck__customer_consents__never_edited';
END
$$;
CREATE TRIGGER trg_customer_consents_never_edited
    BEFORE UPDATE ON customer_consents FOR EACH ROW EXECUTE FUNCTION karen_consent_is_never_edited();
