-- The two text values left in each usage row were the dearest of its parameters to bind (the
-- driver copies each through JNI, SQLite copies it again) and most of its bytes. Binding no text
-- took the writer from 3.6 to 3.2-3.3 us per record (UsageWriteBenchmark, docs/performance-jmh.md),
-- and an own request id takes 12 bytes of integers instead of 28 of text. So:
--   * the path names a usage_paths row, as the repeating columns name a usage_dims row (V6): an
--     API's paths repeat from request to request, and a new one costs one insert;
--   * a request id in Keyswap's own form ("req_" + 24 lowercase hex digits, RequestIds) is stored
--     as two integers, its first 16 and last 8 hex digits; any other id (older rows, ids made
--     elsewhere) stays text in request_id. Exactly one of the two forms is present.
-- The usage_records view turns both back into what was recorded, so readers see the same rows.
CREATE TABLE usage_paths (
    id   INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE
);

INSERT INTO usage_paths (path) SELECT DISTINCT path FROM usage_rows ORDER BY path;

CREATE TABLE usage_rows_v7 (
    id            INTEGER PRIMARY KEY,
    time          BIGINT NOT NULL,
    request_hi    BIGINT,
    request_lo    BIGINT,
    request_id    TEXT,
    dims_id       INTEGER NOT NULL,
    path_id       INTEGER NOT NULL,
    status        INTEGER NOT NULL,
    duration_us   BIGINT NOT NULL,
    upstream_us   BIGINT NOT NULL,
    bytes_in      BIGINT NOT NULL,
    bytes_out     BIGINT NOT NULL,
    input_tokens  BIGINT,
    output_tokens BIGINT,
    cost_usd      DOUBLE PRECISION,
    CHECK ((request_id IS NULL) = (request_hi IS NOT NULL AND request_lo IS NOT NULL))
);

INSERT INTO usage_rows_v7 (id, time, request_hi, request_lo, request_id, dims_id, path_id, status, duration_us,
                           upstream_us, bytes_in, bytes_out, input_tokens, output_tokens, cost_usd)
SELECT r.id, r.time, NULL, NULL, r.request_id, r.dims_id, p.id, r.status, r.duration_us, r.upstream_us, r.bytes_in,
       r.bytes_out, r.input_tokens, r.output_tokens, r.cost_usd
FROM usage_rows r
JOIN usage_paths p ON p.path = r.path
ORDER BY r.id;

DROP VIEW usage_records;
DROP TABLE usage_rows;
ALTER TABLE usage_rows_v7 RENAME TO usage_rows;

CREATE VIEW usage_records AS
SELECT r.id, r.time, COALESCE(r.request_id, printf('req_%016x%08x', r.request_hi, r.request_lo)) AS request_id,
       NULLIF(d.actor_id, '') AS actor_id, NULLIF(d.token_id, '') AS token_id, NULLIF(d.provider, '') AS provider,
       NULLIF(d.connection_id, '') AS connection_id, d.method, p.path, r.status, r.duration_us, r.upstream_us,
       r.bytes_in, r.bytes_out, NULLIF(d.model, '') AS model, r.input_tokens, r.output_tokens, r.cost_usd
FROM usage_rows r
JOIN usage_dims d ON d.id = r.dims_id
JOIN usage_paths p ON p.id = r.path_id;
