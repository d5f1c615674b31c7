-- Every proxied request inserts a usage row, so each index on usage_records is paid for on the
-- hot path. Measured with proxy-bench (docs/performance.md): dropping these two halved the
-- usage writer's CPU per record (21 -> 10 us) and, on a 2-core machine, lifted proxied
-- throughput by more than that. Per-key reporting keeps usage_records_token_time; rows are
-- written in time order, so the rowid already follows time for range scans. Looking a single
-- request up by id (rare: support, debugging) scans the table.
DROP INDEX IF EXISTS usage_records_request;
DROP INDEX IF EXISTS usage_records_time;
