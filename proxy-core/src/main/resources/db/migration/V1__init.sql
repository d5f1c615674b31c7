-- Portable on purpose: TEXT, BIGINT, BLOB and DOUBLE PRECISION read the same to SQLite (by type
-- affinity) and, apart from BLOB (BYTEA) and the AUTOINCREMENT key, to PostgreSQL.
-- Times are epoch milliseconds in BIGINT: a 32-bit INTEGER would overflow on PostgreSQL.

CREATE TABLE actors (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    disabled_at BIGINT
);

-- The bootstrap admin owns the config's admin token and the first keys; created_at 0 marks
-- "existed from the start" without a dialect-specific now().
INSERT INTO actors (id, name, created_at) VALUES ('act_admin', 'admin', 0);

CREATE TABLE api_keys (
    id                TEXT PRIMARY KEY,
    actor_id          TEXT NOT NULL REFERENCES actors (id),
    name              TEXT,
    token_hash        BLOB NOT NULL UNIQUE,
    scopes            TEXT NOT NULL,            -- comma-separated
    providers         TEXT NOT NULL DEFAULT '', -- comma-separated; empty = every provider
    allow_server_keys INTEGER NOT NULL DEFAULT 0,
    rate_limit_rpm    INTEGER,
    expires_at        BIGINT,
    revoked_at        BIGINT,
    created_at        BIGINT NOT NULL,
    last_used_at      BIGINT
);

CREATE INDEX api_keys_actor_created ON api_keys (actor_id, created_at);

-- No foreign keys: a usage record must outlive the key, actor or connection it names, and the
-- background writer must never fail a batch because one of them was deleted.
CREATE TABLE usage_records (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    time          BIGINT NOT NULL,
    request_id    TEXT NOT NULL,
    actor_id      TEXT,
    token_id      TEXT,
    provider      TEXT,
    connection_id TEXT,
    method        TEXT NOT NULL,
    path          TEXT NOT NULL,
    status        INTEGER NOT NULL,
    duration_us   BIGINT NOT NULL,
    upstream_us   BIGINT NOT NULL,
    bytes_in      BIGINT NOT NULL,
    bytes_out     BIGINT NOT NULL,
    model         TEXT,
    input_tokens  BIGINT,
    output_tokens BIGINT,
    cost_usd      DOUBLE PRECISION
);

CREATE INDEX usage_records_time ON usage_records (time);
CREATE INDEX usage_records_token_time ON usage_records (token_id, time);
CREATE INDEX usage_records_request ON usage_records (request_id);
