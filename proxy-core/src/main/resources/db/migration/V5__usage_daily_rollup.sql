-- Usage by key, provider, model and day (SPEC's /usage) and, later, quotas and budgets read sums,
-- not rows. The usage writer adds each batch into this rollup in the batch's own transaction: a
-- few upserts per batch instead of an index entry per proxied request. Dropping
-- usage_records_token_time for it cut the writer's CPU per record from 7.3 to 5.1 us
-- (docs/performance.md). Key columns hold '' for "none", never NULL, so ON CONFLICT matches them.
CREATE TABLE usage_daily (
    day           TEXT NOT NULL,
    actor_id      TEXT NOT NULL,
    token_id      TEXT NOT NULL,
    provider      TEXT NOT NULL,
    connection_id TEXT NOT NULL,
    model         TEXT NOT NULL,
    requests      BIGINT NOT NULL,
    errors        BIGINT NOT NULL,
    input_tokens  BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    cost_usd      DOUBLE PRECISION NOT NULL,
    bytes_in      BIGINT NOT NULL,
    bytes_out     BIGINT NOT NULL,
    PRIMARY KEY (day, actor_id, token_id, provider, connection_id, model)
);

INSERT INTO usage_daily
SELECT strftime('%Y-%m-%d', time / 1000, 'unixepoch'), COALESCE(actor_id, ''), COALESCE(token_id, ''),
       COALESCE(provider, ''), COALESCE(connection_id, ''), COALESCE(model, ''),
       COUNT(*), SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END), COALESCE(SUM(input_tokens), 0),
       COALESCE(SUM(output_tokens), 0), COALESCE(SUM(cost_usd), 0), SUM(bytes_in), SUM(bytes_out)
FROM usage_records
GROUP BY 1, 2, 3, 4, 5, 6;

DROP INDEX IF EXISTS usage_records_token_time;
