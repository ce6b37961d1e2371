-- karen schema v3: customer_preference_history (decisions.md item 18). Earlier versions of a
-- preference and contradicted evidence, appended in the transaction of the change, never
-- edited, erased with the customer. preference_id and learned_from_interaction_id are not
-- foreign keys: the history outlives the rows it describes.
CREATE TABLE customer_preference_history (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    preference_id UUID NOT NULL,
    customer_id UUID NOT NULL
        CONSTRAINT fk__customer_preference_history__customer_id REFERENCES customers(id) ON DELETE CASCADE,
    preference_type VARCHAR(50) NOT NULL,
    preference_key VARCHAR(100) NOT NULL,
    preference_value JSONB NOT NULL,
    confidence_score DECIMAL(3,2) NOT NULL,
    source VARCHAR(50) NOT NULL,
    medium VARCHAR(20) NOT NULL,
    context JSONB,
    learned_from_interaction_id UUID,
    learned_at TIMESTAMP WITH TIME ZONE,
    expires_at TIMESTAMP WITH TIME ZONE,
    is_active BOOLEAN NOT NULL,
    priority INTEGER NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    created_by VARCHAR(50) NOT NULL,
    updated_by VARCHAR(50) NOT NULL,
    superseded_at TIMESTAMP WITH TIME ZONE NOT NULL,
    caused_by VARCHAR(255),
    reason VARCHAR(20) NOT NULL,
    CONSTRAINT ck__customer_preference_history__reason
        CHECK (reason IN ('superseded', 'contradicted', 'deactivated', 'expired', 'deleted')),
    CONSTRAINT ck__customer_preference_history__confidence_score CHECK (confidence_score BETWEEN 0.0 AND 1.0)
);
CREATE INDEX idx_preference_history_key
    ON customer_preference_history(customer_id, preference_type, preference_key, superseded_at DESC, id DESC);
