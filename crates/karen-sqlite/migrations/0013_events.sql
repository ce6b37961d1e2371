-- karen schema v13: change events (decisions.md item 27, docs/decisions.md K53). Triggers on
-- the five tables whose changes agents follow append one row per changed row to karen_events
-- in the writing transaction, whoever writes. SQLite has one writer at a time, so the
-- AUTOINCREMENT position is commit order and a reader following it never skips an event.
-- A row that goes because its customer (or, for an attachment, its conversation) went has no
-- event of its own: its parent's `.deleted` covers it. A customer's `last_contact_at` (and
-- `updated_at` alone) follows its messages and makes no `customer.updated`.
CREATE TABLE karen_events (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL DEFAULT (lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4'
        || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1)
        || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))),
    type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    customer_id TEXT,
    occurred_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'))
);
CREATE INDEX idx_karen_events_customer ON karen_events (customer_id, position);

CREATE TRIGGER trg_customers_event_insert AFTER INSERT ON customers
BEGIN
    INSERT INTO karen_events (type, entity_id, customer_id) VALUES ('customer.created', NEW.id, NEW.id);
END;
CREATE TRIGGER trg_customers_event_update AFTER UPDATE ON customers
WHEN NEW.id IS NOT OLD.id OR NEW.external_id IS NOT OLD.external_id OR NEW.first_name IS NOT OLD.first_name
  OR NEW.last_name IS NOT OLD.last_name OR NEW.company_name IS NOT OLD.company_name
  OR NEW.customer_type IS NOT OLD.customer_type OR NEW.primary_email IS NOT OLD.primary_email
  OR NEW.primary_phone IS NOT OLD.primary_phone OR NEW.secondary_email IS NOT OLD.secondary_email
  OR NEW.secondary_phone IS NOT OLD.secondary_phone OR NEW.billing_address IS NOT OLD.billing_address
  OR NEW.service_address IS NOT OLD.service_address OR NEW.status IS NOT OLD.status
  OR NEW.customer_tier IS NOT OLD.customer_tier OR NEW.preferred_contact_method IS NOT OLD.preferred_contact_method
  OR NEW.preferred_contact_time IS NOT OLD.preferred_contact_time
  OR NEW.communication_style IS NOT OLD.communication_style OR NEW.referral_source IS NOT OLD.referral_source
  OR NEW.customer_since IS NOT OLD.customer_since OR NEW.lifetime_value IS NOT OLD.lifetime_value
  OR NEW.total_jobs IS NOT OLD.total_jobs OR NEW.notes IS NOT OLD.notes OR NEW.tags IS NOT OLD.tags
  OR NEW.metadata IS NOT OLD.metadata OR NEW.created_at IS NOT OLD.created_at
BEGIN
    INSERT INTO karen_events (type, entity_id, customer_id) VALUES ('customer.updated', NEW.id, NEW.id);
END;
CREATE TRIGGER trg_customers_event_delete AFTER DELETE ON customers
BEGIN
    INSERT INTO karen_events (type, entity_id, customer_id) VALUES ('customer.deleted', OLD.id, OLD.id);
END;

CREATE TRIGGER trg_customer_preferences_event_insert AFTER INSERT ON customer_preferences
WHEN EXISTS (SELECT 1 FROM customers WHERE id = NEW.customer_id)
BEGIN
    INSERT INTO karen_events (type, entity_id, customer_id) VALUES ('preference.created', NEW.id, NEW.customer_id);
END;
CREATE TRIGGER trg_customer_preferences_event_update AFTER UPDATE ON customer_preferences
WHEN EXISTS (SELECT 1 FROM customers WHERE id = NEW.customer_id)
BEGIN
    INSERT INTO karen_events (type, entity_id, customer_id) VALUES ('preference.updated', NEW.id, NEW.customer_id);
END;
CREATE TRIGGER trg_customer_preferences_event_delete AFTER DELETE ON customer_preferences
WHEN EXISTS (SELECT 1 FROM customers WHERE id = OLD.customer_id)
BEGIN
    INSERT INTO karen_events (type, entity_id, customer_id) VALUES ('preference.deleted', OLD.id, OLD.customer_id);
END;

CREATE TRIGGER trg_customer_consents_event_insert AFTER INSERT ON customer_consents
WHEN EXISTS (SELECT 1 FROM customers WHERE id = NEW.customer_id)
BEGIN
    INSERT INTO karen_events (type, entity_id, customer_id) VALUES ('consent.created', NEW.id, NEW.customer_id);
END;
CREATE TRIGGER trg_customer_consents_event_update AFTER UPDATE ON customer_consents
WHEN EXISTS (SELECT 1 FROM customers WHERE id = NEW.customer_id)
BEGIN
    INSERT INTO karen_events (type, entity_id, customer_id) VALUES ('consent.updated', NEW.id, NEW.customer_id);
END;
CREATE TRIGGER trg_customer_consents_event_delete AFTER DELETE ON customer_consents
WHEN EXISTS (SELECT 1 FROM customers WHERE id = OLD.customer_id)
BEGIN
    INSERT INTO karen_events (type, entity_id, customer_id) VALUES ('consent.deleted', OLD.id, OLD.customer_id);
END;

CREATE TRIGGER trg_conversations_event_insert AFTER INSERT ON conversations
WHEN EXISTS (SELECT 1 FROM customers WHERE id = NEW.customer_id)
BEGIN
    INSERT INTO karen_events (type, entity_id, customer_id) VALUES ('conversation.created', NEW.id, NEW.customer_id);
END;
CREATE TRIGGER trg_conversations_event_update AFTER UPDATE ON conversations
WHEN EXISTS (SELECT 1 FROM customers WHERE id = NEW.customer_id)
BEGIN
    INSERT INTO karen_events (type, entity_id, customer_id) VALUES ('conversation.updated', NEW.id, NEW.customer_id);
END;
CREATE TRIGGER trg_conversations_event_delete AFTER DELETE ON conversations
WHEN EXISTS (SELECT 1 FROM customers WHERE id = OLD.customer_id)
BEGIN
    INSERT INTO karen_events (type, entity_id, customer_id) VALUES ('conversation.deleted', OLD.id, OLD.customer_id);
END;

CREATE TRIGGER trg_conversation_attachments_event_insert AFTER INSERT ON conversation_attachments
WHEN EXISTS (SELECT 1 FROM conversations c JOIN customers u ON u.id = c.customer_id WHERE c.id = NEW.conversation_id)
BEGIN
    INSERT INTO karen_events (type, entity_id, customer_id)
    SELECT 'attachment.created', NEW.id, customer_id FROM conversations WHERE id = NEW.conversation_id;
END;
CREATE TRIGGER trg_conversation_attachments_event_update AFTER UPDATE ON conversation_attachments
WHEN EXISTS (SELECT 1 FROM conversations c JOIN customers u ON u.id = c.customer_id WHERE c.id = NEW.conversation_id)
BEGIN
    INSERT INTO karen_events (type, entity_id, customer_id)
    SELECT 'attachment.updated', NEW.id, customer_id FROM conversations WHERE id = NEW.conversation_id;
END;
CREATE TRIGGER trg_conversation_attachments_event_delete AFTER DELETE ON conversation_attachments
WHEN EXISTS (SELECT 1 FROM conversations c JOIN customers u ON u.id = c.customer_id WHERE c.id = OLD.conversation_id)
BEGIN
    INSERT INTO karen_events (type, entity_id, customer_id)
    SELECT 'attachment.deleted', OLD.id, customer_id FROM conversations WHERE id = OLD.conversation_id;
END;

-- Webhook subscriptions and every attempt to deliver an event to one (docs/decisions.md K54).
CREATE TABLE webhook_subscriptions (
    id TEXT PRIMARY KEY NOT NULL,
    url TEXT NOT NULL CONSTRAINT ck__webhook_subscriptions__url
        CHECK (length(url) BETWEEN 1 AND 2048 AND (url LIKE 'http://%' OR url LIKE 'https://%')),
    types TEXT NOT NULL DEFAULT '[]' CONSTRAINT ck__webhook_subscriptions__types CHECK (json_type(types) = 'array'),
    description TEXT CONSTRAINT ck__webhook_subscriptions__description CHECK (length(description) <= 500),
    secret TEXT NOT NULL CONSTRAINT ck__webhook_subscriptions__secret CHECK (secret LIKE 'whsec\_%' ESCAPE '\'),
    status TEXT NOT NULL DEFAULT 'active'
        CONSTRAINT ck__webhook_subscriptions__status CHECK (status IN ('active', 'disabled')),
    disabled_reason TEXT,
    cursor TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'))
);
CREATE INDEX idx_webhook_subscriptions_status ON webhook_subscriptions (status);

CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    webhook_id TEXT NOT NULL
        CONSTRAINT fk__webhook_deliveries__webhook_id REFERENCES webhook_subscriptions(id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    attempt INTEGER NOT NULL CONSTRAINT ck__webhook_deliveries__attempt CHECK (attempt >= 1),
    outcome TEXT NOT NULL CONSTRAINT ck__webhook_deliveries__outcome CHECK (outcome IN ('delivered', 'failed')),
    response_status INTEGER,
    error TEXT,
    duration_ms INTEGER NOT NULL CONSTRAINT ck__webhook_deliveries__duration_ms CHECK (duration_ms >= 0),
    attempted_at TEXT NOT NULL,
    next_attempt_at TEXT
);
CREATE INDEX idx_webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);
CREATE INDEX idx_webhook_deliveries_event ON webhook_deliveries (event_id);
