-- The usage_records view (V8) also names the block each record is stored in. Its record ids are
-- computed (block id * 256 + place), so a filter on them makes SQLite unpack every block; a
-- filter on block_id is a range of usage_blocks' primary key. Readers of the newest records, or
-- of a page of the log, select their blocks by block_id and read the records through this view,
-- which stays the one place that knows a block's layout.
DROP VIEW usage_records;

CREATE VIEW usage_records AS
SELECT b.id * 256 + r.key AS id, b.id AS block_id, b.first_time + (r.value ->> 0) AS time, r.value ->> 1 AS request_id,
       NULLIF(d.actor_id, '') AS actor_id, NULLIF(d.token_id, '') AS token_id, NULLIF(d.provider, '') AS provider,
       NULLIF(d.connection_id, '') AS connection_id, d.method, p.path, r.value ->> 4 AS status,
       r.value ->> 5 AS duration_us, r.value ->> 6 AS upstream_us, r.value ->> 7 AS bytes_in,
       r.value ->> 8 AS bytes_out, NULLIF(d.model, '') AS model, r.value ->> 9 AS input_tokens,
       r.value ->> 10 AS output_tokens, r.value ->> 11 AS cost_usd
FROM usage_blocks b
JOIN jsonb_each(b.data) r
JOIN usage_dims d ON d.id = r.value ->> 2
JOIN usage_paths p ON p.id = r.value ->> 3;
