-- karen schema v12: change events (decisions.md item 27, docs/decisions.md K53).
-- Sequence values are not commit order: a transaction that took 7 may commit after one that
-- took 8, and a reader that saw 8 would pass 7 for ever. So events are numbered at commit:
-- each evented table has a deferred constraint trigger, which runs in the committing
-- transaction, takes karen's transaction-level advisory lock (held until the commit is done,
-- and visible), then the next value of the sequence, and appends the event. Transactions
-- number their events one after the other in the order they commit, and a reader that sees
-- position n sees every position below it. The lock is taken only at commit, when the
-- transaction holds every other lock it will ever need, so it cannot deadlock. A transaction
-- that fails after numbering leaves a gap in the numbers, never an event a reader passes.
-- The triggers fire whoever writes, so other programs' writes have events too.
--
-- A row that goes because its customer (or, for an attachment, its conversation) went has no
-- event of its own: its parent's `.deleted` covers it. A customer's `last_contact_at` (and
-- `updated_at` alone) follows its messages and makes no `customer.updated`.
CREATE TABLE karen_events (
    position bigint PRIMARY KEY,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    type text NOT NULL,
    entity_id uuid NOT NULL,
    customer_id uuid,
    occurred_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX idx_karen_events_customer ON karen_events (customer_id, position);

CREATE SEQUENCE karen_event_position AS bigint;

CREATE FUNCTION karen_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kind text := TG_ARGV[0];
    verb text := CASE TG_OP WHEN 'INSERT' THEN 'created' WHEN 'UPDATE' THEN 'updated' ELSE 'deleted' END;
    row_id uuid;
    customer uuid;
    next_position bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN
        row_id := OLD.id;
    ELSE
        row_id := NEW.id;
    END IF;
    IF kind = 'customer' THEN
        IF TG_OP = 'UPDATE'
           AND to_jsonb(OLD) - 'last_contact_at' - 'updated_at' = to_jsonb(NEW) - 'last_contact_at' - 'updated_at' THEN
            RETURN NULL;
        END IF;
        customer := row_id;
    ELSIF kind = 'attachment' THEN
        SELECT c.customer_id INTO customer
          FROM conversations c JOIN customers u ON u.id = c.customer_id
         WHERE c.id = CASE WHEN TG_OP = 'DELETE' THEN OLD.conversation_id ELSE NEW.conversation_id END;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
    ELSE
        IF TG_OP = 'DELETE' THEN
            customer := OLD.customer_id;
        ELSE
            customer := NEW.customer_id;
        END IF;
        IF NOT EXISTS (SELECT 1 FROM customers WHERE id = customer) THEN
            RETURN NULL;
        END IF;
    END IF;
    -- 7250_1201 ("karen" 12/01): the one advisory lock key karen takes.
    PERFORM pg_advisory_xact_lock(72501201);
    next_position := nextval('karen_event_position');
    INSERT INTO karen_events (position, type, entity_id, customer_id)
    VALUES (next_position, kind || '.' || verb, row_id, customer);
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER trg_customers_event AFTER INSERT OR UPDATE OR DELETE ON customers
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION karen_event('customer');
CREATE CONSTRAINT TRIGGER trg_customer_preferences_event AFTER INSERT OR UPDATE OR DELETE ON customer_preferences
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION karen_event('preference');
CREATE CONSTRAINT TRIGGER trg_customer_consents_event AFTER INSERT OR UPDATE OR DELETE ON customer_consents
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION karen_event('consent');
CREATE CONSTRAINT TRIGGER trg_conversations_event AFTER INSERT OR UPDATE OR DELETE ON conversations
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION karen_event('conversation');
CREATE CONSTRAINT TRIGGER trg_conversation_attachments_event AFTER INSERT OR UPDATE OR DELETE ON conversation_attachments
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION karen_event('attachment');

-- Webhook subscriptions and every attempt to deliver an event to one (docs/decisions.md K54).
CREATE TABLE webhook_subscriptions (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    url VARCHAR(2048) NOT NULL,
    types TEXT[] NOT NULL DEFAULT '{}',
    description VARCHAR(500),
    secret TEXT NOT NULL,
    status VARCHAR(20) NOT NULL DEFAULT 'active',
    disabled_reason VARCHAR(500),
    cursor TEXT NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT ck__webhook_subscriptions__url CHECK (url ~* '^https?://'),
    CONSTRAINT ck__webhook_subscriptions__secret CHECK (secret LIKE 'whsec\_%'),
    CONSTRAINT ck__webhook_subscriptions__status CHECK (status IN ('active', 'disabled'))
);
CREATE INDEX idx_webhook_subscriptions_status ON webhook_subscriptions (status);

CREATE TABLE webhook_deliveries (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    webhook_id UUID NOT NULL
        CONSTRAINT fk__webhook_deliveries__webhook_id REFERENCES webhook_subscriptions(id) ON DELETE CASCADE,
    event_id UUID NOT NULL,
    event_type VARCHAR(40) NOT NULL,
    attempt INTEGER NOT NULL,
    outcome VARCHAR(20) NOT NULL,
    response_status INTEGER,
    error VARCHAR(500),
    duration_ms INTEGER NOT NULL,
    attempted_at TIMESTAMP WITH TIME ZONE NOT NULL,
    next_attempt_at TIMESTAMP WITH TIME ZONE,
    CONSTRAINT ck__webhook_deliveries__attempt CHECK (attempt >= 1),
    CONSTRAINT ck__webhook_deliveries__outcome CHECK (outcome IN ('delivered', 'failed')),
    CONSTRAINT ck__webhook_deliveries__duration_ms CHECK (duration_ms >= 0)
);
CREATE INDEX idx_webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);
CREATE INDEX idx_webhook_deliveries_event ON webhook_deliveries (event_id);
