-- A row per usage record was still the usage writer's floor: ~3 us of CPU per proxied request
-- (SQLite stepping the row, the driver's JNI call per bound parameter), the largest single item of
-- Keyswap's CPU per request (docs/performance.md). Records are now stored in blocks: one row per
-- up to 256 records, its data a JSON array of records, each an array of
--   [time - first_time, request_id, dims_id, path_id, status, duration_us, upstream_us, bytes_in, bytes_out,
--    input_tokens, output_tokens, cost_usd]
-- in SQLite's binary JSON form (JSONB, https://sqlite.org/jsonb.html), written by the writer in
-- Java (UsageBlock). Request ids are text again: in JSONB Keyswap's own 28-character ids take no
-- more room than their two integers did. first_time and last_time (epoch ms) bound the block's
-- record times (epoch ms), so a reader of a time range can pass over the other blocks without
-- unpacking them; a record's time is stored as milliseconds after first_time, a few digits.
-- The usage_records view unpacks the blocks, so readers see the same records as before; a
-- record's id is its block's id times 256 plus its place in the block.
CREATE TABLE usage_blocks (
    id         INTEGER PRIMARY KEY,
    first_time BIGINT NOT NULL,
    last_time  BIGINT NOT NULL,
    records    INTEGER NOT NULL CHECK (records BETWEEN 1 AND 256),
    data       BLOB NOT NULL
);

INSERT INTO usage_blocks (id, first_time, last_time, records, data)
SELECT block, MIN(time), MAX(time), COUNT(*),
       jsonb_group_array(jsonb_array(time - block_first, COALESCE(request_id, printf('req_%016x%08x', request_hi, request_lo)),
                                     dims_id, path_id, status, duration_us, upstream_us, bytes_in, bytes_out, input_tokens,
                                     output_tokens, cost_usd) ORDER BY id)
FROM (SELECT r.*, (r.id - 1) / 256 + 1 AS block, MIN(r.time) OVER (PARTITION BY (r.id - 1) / 256) AS block_first
      FROM usage_rows r)
GROUP BY block;

DROP VIEW usage_records;
DROP TABLE usage_rows;

CREATE VIEW usage_records AS
SELECT b.id * 256 + r.key AS id, b.first_time + (r.value ->> 0) AS time, r.value ->> 1 AS request_id,
       NULLIF(d.actor_id, '') AS actor_id, NULLIF(d.token_id, '') AS token_id, NULLIF(d.provider, '') AS provider,
       NULLIF(d.connection_id, '') AS connection_id, d.method, p.path, r.value ->> 4 AS status,
       r.value ->> 5 AS duration_us, r.value ->> 6 AS upstream_us, r.value ->> 7 AS bytes_in,
       r.value ->> 8 AS bytes_out, NULLIF(d.model, '') AS model, r.value ->> 9 AS input_tokens,
       r.value ->> 10 AS output_tokens, r.value ->> 11 AS cost_usd
FROM usage_blocks b
JOIN jsonb_each(b.data) r
JOIN usage_dims d ON d.id = r.value ->> 2
JOIN usage_paths p ON p.id = r.value ->> 3;
