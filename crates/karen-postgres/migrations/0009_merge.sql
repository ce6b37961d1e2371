-- karen schema v9: merging customers (decisions.md item 25). customer_merges remembers where a
-- merged-away customer went (reading it answers 404 with merged_into); it is erased with the
-- customer it points at. History rows may now have reason 'merged' and consent rows cause
-- 'merge' (the more restrictive status of the two customers). The consent ledger stays never
-- edited, with one more exception: a merge moves a row to the customer its own is being merged
-- into, which the trigger checks against customer_merges.
CREATE TABLE customer_merges (
    duplicate_id UUID PRIMARY KEY,
    customer_id UUID NOT NULL
        CONSTRAINT fk__customer_merges__customer_id REFERENCES customers(id) ON DELETE CASCADE,
    merged_at TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE INDEX idx_customer_merges_customer ON customer_merges(customer_id);

ALTER TABLE customer_preference_history DROP CONSTRAINT ck__customer_preference_history__reason;
ALTER TABLE customer_preference_history ADD CONSTRAINT ck__customer_preference_history__reason
    CHECK (reason IN ('superseded', 'contradicted', 'deactivated', 'expired', 'deleted', 'merged'));
ALTER TABLE customer_consents DROP CONSTRAINT ck__customer_consents__cause;
ALTER TABLE customer_consents ADD CONSTRAINT ck__customer_consents__cause
    CHECK (cause IN ('keyword', 'request', 'unsubscribe', 'merge'));

CREATE OR REPLACE FUNCTION karen_consent_is_never_edited() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.conversation_id IS NULL OR NEW.conversation_id = OLD.conversation_id)
       AND (NEW.customer_id = OLD.customer_id
            OR EXISTS (SELECT 1 FROM customer_merges m
                       WHERE m.duplicate_id = OLD.customer_id AND m.customer_id = NEW.customer_id))
       AND (NEW.id, NEW.channel, NEW.status, NEW.cause, NEW.keyword, NEW.note, NEW.recorded_by, NEW.recorded_at)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.channel, OLD.status, OLD.cause, OLD.keyword, OLD.note, OLD.recorded_by, OLD.recorded_at)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the consent ledger is never edited' USING ERRCODE = 'check_violation',
        CONSTRAINT = 'ck__customer_consents__never_edited';
END
$$;
