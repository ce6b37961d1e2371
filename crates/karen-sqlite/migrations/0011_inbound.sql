-- karen schema v11: what inbound messages need (decisions.md items 20 and 21); see the
-- PostgreSQL migration 10. Timestamps are fixed-width text, so text order is time order.
CREATE TRIGGER trg_conversations_last_contact AFTER INSERT ON conversations
BEGIN
    UPDATE customers SET last_contact_at = NEW.message_timestamp
     WHERE id = NEW.customer_id AND (last_contact_at IS NULL OR last_contact_at < NEW.message_timestamp);
END;
CREATE INDEX idx_customers_secondary_email_lower ON customers (lower(secondary_email));
