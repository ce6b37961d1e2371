-- karen schema v2: bearer tokens of the HTTP API (only their SHA-256 is stored).
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL CONSTRAINT ck__api_tokens__scopes CHECK (json_type(scopes) = 'array' AND json_array_length(scopes) > 0),
    token_hash TEXT NOT NULL CONSTRAINT uq__api_tokens__token_hash UNIQUE
        CONSTRAINT ck__api_tokens__token_hash CHECK (length(token_hash) = 71 AND substr(token_hash, 1, 7) = 'sha256:'
            AND substr(token_hash, 8) NOT GLOB '*[^0-9a-f]*'),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    revoked_at TEXT
);
