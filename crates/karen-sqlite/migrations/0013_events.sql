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
