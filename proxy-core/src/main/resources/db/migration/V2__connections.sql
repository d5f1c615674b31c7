-- Connections and their sealed secrets, BYOK split keys, and the connections a token may use.
-- Every table holding sealed data has the columns (id, actor_id, key_id, nonce, ciphertext):
-- the vault's associated data binds a ciphertext to (actor_id, id, key_id), and master-key
-- rotation walks each such table the same way, re-sealing rows whose key_id is not current.

CREATE TABLE connections (
    id            TEXT PRIMARY KEY,
    actor_id      TEXT NOT NULL REFERENCES actors (id),
    name          TEXT NOT NULL,
    provider      TEXT,                    -- a catalog provider, or NULL
    base_url      TEXT,                    -- NULL means the provider's
    auth_type     TEXT NOT NULL,           -- bearer, api_key, basic, oauth2_token, query, none
    auth_param    TEXT,                    -- header name (api_key) or query parameter (query)
    extra_headers TEXT NOT NULL,           -- JSON object, name -> value; not secret
    allowed_paths TEXT NOT NULL,           -- JSON array of path prefixes; empty = any
    created_at    BIGINT NOT NULL,
    UNIQUE (actor_id, name)
);

CREATE INDEX connections_actor_provider ON connections (actor_id, provider, created_at);

-- One row per secret: several rows make a key pool, used in ascending position.
CREATE TABLE connection_secrets (
    id            TEXT PRIMARY KEY,
    connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    actor_id      TEXT NOT NULL,
    position      INTEGER NOT NULL,
    key_id        TEXT NOT NULL,
    nonce         BLOB NOT NULL,
    ciphertext    BLOB NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE INDEX connection_secrets_connection ON connection_secrets (connection_id, position);

-- Only the double-sealed provider key: the client part it also needs is never stored.
CREATE TABLE split_keys (
    id         TEXT PRIMARY KEY,
    actor_id   TEXT NOT NULL,
    provider   TEXT NOT NULL,
    key_id     TEXT NOT NULL,
    nonce      BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE INDEX split_keys_actor_created ON split_keys (actor_id, created_at);

-- Comma-separated connection ids the token may use; empty = none.
ALTER TABLE api_keys ADD COLUMN connections TEXT NOT NULL DEFAULT '';
