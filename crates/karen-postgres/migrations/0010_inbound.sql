-- karen schema v10: what inbound messages need (decisions.md items 20 and 21).
-- customers.last_contact_at follows every message recorded, by any route and any program: a
-- trigger raises it to the message's time when that is later. karen's connections set
-- karen.clock, so the customers' updated_at trigger leaves updated_at alone for this change.
-- A customer is matched by a secondary e-mail too, looked up lower-cased.
CREATE FUNCTION karen_follow_last_contact() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE customers SET last_contact_at = NEW.message_timestamp
     WHERE id = NEW.customer_id AND (last_contact_at IS NULL OR last_contact_at < NEW.message_timestamp);
    RETURN NULL;
END $$;
CREATE TRIGGER trg_conversations_last_contact AFTER INSERT ON conversations
    FOR EACH ROW EXECUTE FUNCTION karen_follow_last_contact();
CREATE INDEX idx_customers_secondary_email_lower ON customers (lower(secondary_email));
