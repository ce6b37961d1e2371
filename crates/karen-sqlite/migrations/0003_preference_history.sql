-- karen schema v3: customer_preference_history (decisions.md item 18); see the PostgreSQL
-- migration of the same number.
CREATE TABLE customer_preference_history (
    id TEXT PRIMARY KEY NOT NULL,
    preference_id TEXT NOT NULL,
    customer_id TEXT NOT NULL
        CONSTRAINT fk__customer_preference_history__customer_id REFERENCES customers(id) ON DELETE CASCADE,
    preference_type TEXT NOT NULL,
    preference_key TEXT NOT NULL,
    preference_value TEXT NOT NULL CONSTRAINT ck__customer_preference_history__preference_value CHECK (json_valid(preference_value)),
    confidence_score REAL NOT NULL
        CONSTRAINT ck__customer_preference_history__confidence_score CHECK (confidence_score BETWEEN 0.0 AND 1.0),
    source TEXT NOT NULL,
    medium TEXT NOT NULL,
    context TEXT,
    learned_from_interaction_id TEXT,
    learned_at TEXT,
    expires_at TEXT,
    is_active INTEGER NOT NULL,
    priority INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    superseded_at TEXT NOT NULL,
    caused_by TEXT,
    reason TEXT NOT NULL
        CONSTRAINT ck__customer_preference_history__reason
        CHECK (reason IN ('superseded', 'contradicted', 'deactivated', 'expired', 'deleted'))
);
CREATE INDEX idx_preference_history_key
    ON customer_preference_history(customer_id, preference_type, preference_key, superseded_at DESC, id DESC);
