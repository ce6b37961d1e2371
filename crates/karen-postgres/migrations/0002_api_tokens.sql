-- karen schema v2: bearer tokens of the HTTP API (only their SHA-256 is stored).
CREATE TABLE api_tokens (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(100) NOT NULL,
    scopes TEXT[] NOT NULL,
    token_hash VARCHAR(71) NOT NULL CONSTRAINT uq__api_tokens__token_hash UNIQUE,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
    revoked_at TIMESTAMP WITH TIME ZONE,
    CONSTRAINT ck__api_tokens__scopes CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['read', 'write', 'admin']::text[]),
    CONSTRAINT ck__api_tokens__token_hash CHECK (token_hash ~ '^sha256:[0-9a-f]{64}$')
);
