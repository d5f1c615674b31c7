package dev.keyswap.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keyswap.usage.UsageRecord;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UsageStoreTest {
    private static final Instant T0 = Instant.ofEpochMilli(1_760_000_000_456L);

    @TempDir
    Path dir;
    private Database db;
    private UsageStore store;

    @BeforeEach
    void open() {
        db = Database.open("jdbc:sqlite:" + dir.resolve("usage.db"));
        store = new UsageStore(db);
    }

    @AfterEach
    void close() {
        db.close();
    }

    private static UsageRecord metered(int i) {
        return new UsageRecord(T0.plusMillis(i), "req-" + i, "act_admin", "key_" + (i % 7), "openai", null,
                "POST", "/v1/chat/completions", 200, 1500L + i, 900L + i, 321L * i, 4096L + i,
                "gpt-4o-mini", 12L + i, 34L + i, 0.000125 * i);
    }

    private static UsageRecord unmetered(String requestId) {
        return new UsageRecord(T0, requestId, null, null, null, "conn_1", "GET", "/status", 502,
                10, 0, 0, 0, null, null, null, null);
    }

    @Test
    void batchOfAThousandRecordsIsStoredAndFoundByRequestId() {
        List<UsageRecord> batch = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            batch.add(metered(i));
        }
        store.insertBatch(batch);

        assertEquals(1000, store.count());
        assertEquals(metered(0), store.findByRequestId("req-0").orElseThrow());
        assertEquals(metered(777), store.findByRequestId("req-777").orElseThrow());
        assertEquals(metered(999), store.findByRequestId("req-999").orElseThrow());
    }

    @Test
    void textValuesOfAnyContentReadBackUnchangedAndChangeNoStatement() {
        // Ids and paths are whatever clients sent (within the target's rules): quotes, SQL, control
        // characters and non-ASCII must all come back exactly, in every position of a block, and
        // must not end, extend or break a statement.
        List<String> hostile = List.of("it's", "''", "'", "x'); DROP TABLE usage_blocks; --", "a\u0000b", "line\nbreak\t",
                "caf\u00e9/\u65e5\u672c", "\ud83d\ude00", "\\'\\", "?", "?, ?)", "NULL", "", "%27%3B");
        List<UsageRecord> batch = new ArrayList<>();
        for (int i = 0; i < UsageStore.RECORDS_PER_BLOCK + hostile.size(); i++) {
            String odd = hostile.get(i % hostile.size());
            batch.add(new UsageRecord(T0.plusMillis(i), "req-" + i + odd, "act_admin", "key_1", "openai", null, "POST",
                    "/v1/" + odd + i, 200, i, i, i, i, "gpt-4o-mini", (long) i, null, i % 3 == 0 ? null : 0.1 * i));
        }
        store.insertBatch(batch);

        assertEquals(batch.size(), store.count());
        for (UsageRecord r : batch) {
            assertEquals(r, store.findByRequestId(r.requestId()).orElseThrow(), r.requestId());
        }
    }

    /** Rows of {@code sql}, each as its columns joined by "|". */
    private List<String> rows(String sql) throws Exception {
        List<String> out = new ArrayList<>();
        try (java.sql.Connection c = db.dataSource().getConnection(); java.sql.Statement st = c.createStatement();
                java.sql.ResultSet rs = st.executeQuery(sql)) {
            int columns = rs.getMetaData().getColumnCount();
            while (rs.next()) {
                StringBuilder row = new StringBuilder();
                for (int i = 1; i <= columns; i++) {
                    row.append(i > 1 ? "|" : "").append(rs.getString(i));
                }
                out.add(row.toString());
            }
        }
        return out;
    }

    @Test
    void recordsAreStoredInBlocksOfStrictJsonbWithTheirTimeBoundsAndReadBackInOrder() throws Exception {
        List<UsageRecord> batch = new ArrayList<>();
        int total = UsageStore.RECORDS_PER_BLOCK * 2 + 88;
        for (int i = 0; i < total; i++) {
            // Times out of order within a block (records are queued as responses end, not as requests began).
            UsageRecord m = metered(i);
            batch.add(new UsageRecord(T0.plusMillis((i * 37L) % 1000), m.requestId(), m.actorId(), m.tokenId(), m.provider(),
                    m.connectionId(), m.method(), m.path(), m.status(), m.durationMicros(), m.upstreamMicros(), m.bytesIn(),
                    m.bytesOut(), m.model(), m.inputTokens(), m.outputTokens(), m.costUsd()));
        }
        store.insertBatch(batch);

        List<String> expected = new ArrayList<>();
        for (int from = 0; from < total; from += UsageStore.RECORDS_PER_BLOCK) {
            List<UsageRecord> block = batch.subList(from, Math.min(total, from + UsageStore.RECORDS_PER_BLOCK));
            long first = block.stream().mapToLong(r -> r.time().toEpochMilli()).min().orElseThrow();
            long last = block.stream().mapToLong(r -> r.time().toEpochMilli()).max().orElseThrow();
            expected.add(block.size() + "|" + block.size() + "|1|" + first + "|" + last);
        }
        // json_valid(data, 8): strictly conforming JSONB, the headers reserved at their widest included.
        assertEquals(expected, rows("SELECT records, json_array_length(data), json_valid(data, 8), first_time, last_time"
                + " FROM usage_blocks ORDER BY id"));
        List<String> order = new ArrayList<>();
        for (UsageRecord r : batch) {
            order.add(r.requestId());
        }
        assertEquals(order, rows("SELECT request_id FROM usage_records ORDER BY id"), "the view's ids follow the batch");
        assertEquals(List.of(String.valueOf(total)), rows("SELECT COUNT(DISTINCT id) FROM usage_records"));
        assertEquals(batch.get(300), store.findByRequestId(batch.get(300).requestId()).orElseThrow());
    }

    @Test
    void latestReadsTheNewestRecordsFirstAcrossBlocksAndBatches() {
        assertTrue(store.latest(5).isEmpty());
        List<UsageRecord> first = new ArrayList<>();
        for (int i = 0; i < UsageStore.RECORDS_PER_BLOCK + 44; i++) {
            first.add(metered(i));
        }
        store.insertBatch(first);
        store.insertBatch(List.of(unmetered("req-a"), unmetered("req-b")));

        assertEquals(List.of(unmetered("req-b"), unmetered("req-a"), metered(299)), store.latest(3));
        List<UsageRecord> all = store.latest(10_000);
        assertEquals(first.size() + 2, all.size());
        assertEquals(metered(0), all.get(all.size() - 1), "the oldest last");
        assertEquals(metered(UsageStore.RECORDS_PER_BLOCK), all.get(all.size() - 1 - UsageStore.RECORDS_PER_BLOCK),
                "the first record of the second block in its place");
    }

    @Test
    void extremeValuesAndARequestIdOfSeventyThousandCharactersReadBackExactly() throws Exception {
        String longId = "req-" + "x".repeat(70_000) + "\u00e9"; // a record over 65,535 bytes: a 4-byte size
        List<UsageRecord> batch = List.of(
                new UsageRecord(Instant.ofEpochMilli(0), "req-min", "act_admin", "key_1", "openai", null, "POST", "/v1/a",
                        0, Long.MIN_VALUE, Long.MAX_VALUE, -1, 9, "m", Long.MIN_VALUE, Long.MAX_VALUE, 1e-5),
                new UsageRecord(T0, longId, "act_admin", "key_1", "openai", null, "POST", "/v1/b",
                        599, 0, -9_999_999_999L, 10, 99, null, 0L, 1L, 1.5e300),
                new UsageRecord(T0, "req-third", "act_admin", "key_1", "openai", null, "POST", "/v1/c",
                        200, 12, 13, 14, 15, "m", null, 7L, 123.456));
        store.insertBatch(batch);
        for (UsageRecord r : batch) {
            assertEquals(r, store.findByRequestId(r.requestId()).orElseThrow(), r.requestId().substring(0, Math.min(9, r.requestId().length())));
        }
        assertEquals(List.of("1"), rows("SELECT json_valid(data, 8) FROM usage_blocks"));
    }

    @Test
    void costsReadBackExactlyWholePicodollarsWrittenAsTheirDigits() throws Exception {
        // Whole picodollars (PriceTable's costs) take the short form; anything else the shortest
        // decimal. Both must read back as the very same double, sign of zero included.
        List<Double> costs = new ArrayList<>(List.of(6.0e-6, 0.0, -0.0, 1e-12, -3e-12, 0.00375, 5.0, 1234567.891234,
                9007199254740992e-12, 9007199254740993e-12, 5.999999999999999e-6, 1e-13, 0.1 + 0.2, 1.5e300, -2.5e-300,
                Double.MIN_VALUE, Double.MAX_VALUE));
        java.util.Random random = new java.util.Random(7);
        for (int i = 0; i < 600; i++) {
            costs.add(switch (i % 3) {
                case 0 -> random.nextInt(10_000_000) / 1e12; // a few cents or less
                case 1 -> (random.nextLong() >> 8) / 1e12; // 55 bits: past a double's exact whole numbers
                default -> random.nextDouble() * Math.pow(10, random.nextInt(20) - 12);
            });
        }
        List<UsageRecord> batch = new ArrayList<>();
        for (int i = 0; i < costs.size(); i++) {
            batch.add(new UsageRecord(T0, "req-cost-" + i, "act_admin", "key_1", "openai", null, "POST", "/v1/a",
                    200, 1, 1, 1, 1, "m", 1L, 1L, costs.get(i)));
        }
        store.insertBatch(batch);
        for (UsageRecord r : batch) {
            Double read = store.findByRequestId(r.requestId()).orElseThrow().costUsd();
            assertEquals(0, Double.compare(r.costUsd(), read), r.requestId() + ": " + r.costUsd() + " read back as " + read);
        }
        assertEquals(List.of("1", "1", "1"), rows("SELECT json_valid(data, 8) FROM usage_blocks"));
        assertEquals(List.of("6e-6|0e0|375e-5|5e0"), rows("SELECT (data -> '$[0][11]') || '|' || (data -> '$[1][11]') || '|'"
                + " || (data -> '$[5][11]') || '|' || (data -> '$[6][11]') FROM usage_blocks ORDER BY id LIMIT 1"),
                "whole picodollars as digits and an exponent");
    }

    @Test
    void aCostThatIsNotANumberIsStoredAsNone() {
        UsageRecord nan = new UsageRecord(T0, "req-nan", "act_admin", "key_1", "openai", null, "POST", "/v1/a",
                200, 1, 1, 1, 1, null, null, null, Double.NaN);
        store.insertBatch(List.of(nan, metered(1)));
        assertEquals(null, store.findByRequestId("req-nan").orElseThrow().costUsd());
        assertEquals(metered(1), store.findByRequestId("req-1").orElseThrow());
        assertEquals(1, store.daily("act_admin").stream().filter(d -> d.costUsd() == metered(1).costUsd()).count(),
                "the rollup adds nothing for it either");
    }

    @Test
    void eachPathIsStoredOnceAndNamedByItsId() throws Exception {
        List<UsageRecord> batch = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            String path = i % 3 == 0 ? "/v1/chat/completions" : i % 3 == 1 ? "/v1/embeddings" : "/v1/files/file-" + (i % 5);
            batch.add(new UsageRecord(T0.plusMillis(i), "req-" + i, "act_admin", "key_1", "openai", null, "POST", path, 200,
                    i, i, i, i, null, null, null, null));
        }
        store.insertBatch(batch.subList(0, 150));
        store.insertBatch(batch.subList(150, 300));
        assertEquals("7", DatabaseTest.queryString(db.dataSource(), "SELECT COUNT(*) FROM usage_paths"), "2 endpoints and 5 file paths");
        for (UsageRecord r : batch) {
            assertEquals(r, store.findByRequestId(r.requestId()).orElseThrow(), r.requestId());
        }
    }

    private static UsageRecord record(Instant time, String actor, String token, String provider, String connection, int status,
                                      String model, Long in, Long out, Double cost, long bytesIn, long bytesOut) {
        return new UsageRecord(time, "req-" + time.toEpochMilli() + "-" + status, actor, token, provider, connection, "POST",
                "/v1/chat/completions", status, 1000, 500, bytesIn, bytesOut, model, in, out, cost);
    }

    @Test
    void eachBatchIsAddedToTheDailyRollupByDayKeyRouteAndModel() {
        Instant nextDay = T0.plus(java.time.Duration.ofDays(1));
        store.insertBatch(List.of(
                record(T0, "act_a", "key_1", "openai", null, 200, "gpt-4o-mini", 10L, 20L, 0.5, 100, 200),
                record(T0.plusMillis(1), "act_a", "key_1", "openai", null, 502, null, null, null, null, 7, 0),
                record(T0.plusMillis(2), "act_a", "key_1", "openai", null, 429, "gpt-4o-mini", null, null, null, 1, 2),
                record(nextDay, "act_a", "key_1", "openai", null, 200, "gpt-4o-mini", 1L, 2L, 0.25, 10, 20),
                record(T0, "act_a", "key_2", null, "cn_9", 200, null, null, null, null, 5, 6),
                record(T0, "act_b", "key_3", "openai", null, 200, "gpt-4o-mini", 99L, 99L, 9.0, 9, 9)));
        store.insertBatch(List.of(record(T0.plusMillis(3), "act_a", "key_1", "openai", null, 200, "gpt-4o-mini", 5L, 6L, 0.125, 1, 1)));

        assertEquals(List.of(
                new UsageStore.DailyUsage("2025-10-09", "act_a", "key_1", "openai", "", "", 1, 1, 0, 0, 0.0, 7, 0),
                new UsageStore.DailyUsage("2025-10-09", "act_a", "key_1", "openai", "", "gpt-4o-mini", 3, 1, 15, 26, 0.625, 102, 203),
                new UsageStore.DailyUsage("2025-10-09", "act_a", "key_2", "", "cn_9", "", 1, 0, 0, 0, 0.0, 5, 6),
                new UsageStore.DailyUsage("2025-10-10", "act_a", "key_1", "openai", "", "gpt-4o-mini", 1, 0, 1, 2, 0.25, 10, 20)),
                store.daily("act_a"));
        assertEquals(1, store.daily("act_b").size());
        assertTrue(store.daily("act_nobody").isEmpty());
    }

    /** Closes this test's database and makes a new one at schema {@code version} holding {@code rows}; its URL. */
    private String databaseAt(String version, String... rows) throws Exception {
        db.close();
        String url = "jdbc:sqlite:" + dir.resolve("v" + version + ".db");
        org.flywaydb.core.Flyway.configure().dataSource(url, null, null).locations("classpath:db/migration")
                .target(version).load().migrate();
        try (java.sql.Connection c = java.sql.DriverManager.getConnection(url); java.sql.Statement st = c.createStatement()) {
            for (String insert : rows) {
                st.execute(insert);
            }
        }
        return url;
    }

    @Test
    void upgradingFromBeforeTheRollupSumsTheRowsAlreadyStored() throws Exception {
        List<String> rows = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            rows.add("INSERT INTO usage_records (time, request_id, actor_id, token_id, provider, method, path, status,"
                    + " duration_us, upstream_us, bytes_in, bytes_out, model, input_tokens, output_tokens, cost_usd)"
                    + " VALUES (" + T0.toEpochMilli() + ", 'req-" + i + "', 'act_old', 'key_old', 'openai', 'POST', '/v1/x', "
                    + (i == 2 ? 500 : 200) + ", 1, 1, 10, 20, 'gpt-4o-mini', " + (i == 2 ? "NULL" : "4") + ", 5, 0.5)");
        }
        db = Database.open(databaseAt("4", rows.toArray(String[]::new)));
        store = new UsageStore(db);
        assertEquals(List.of(new UsageStore.DailyUsage("2025-10-09", "act_old", "key_old", "openai", "", "gpt-4o-mini",
                3, 1, 8, 15, 1.5, 30, 60)), store.daily("act_old"));
    }

    @Test
    void recordWithoutModelTokensOrCostReadsBackWithNulls() {
        UsageRecord record = unmetered("req-plain");
        store.insertBatch(List.of(record));
        assertEquals(record, store.findByRequestId("req-plain").orElseThrow());
    }

    @Test
    void failingBatchInsertsNothing() {
        List<UsageRecord> batch = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            batch.add(metered(i));
        }
        batch.add(unmetered(null)); // request_id is NOT NULL
        batch.add(metered(10));

        StoreException e = assertThrows(StoreException.class, () -> store.insertBatch(batch));
        assertTrue(e.getMessage().contains("12 usage records"), e.getMessage());
        assertEquals(0, store.count());
        assertTrue(store.daily("act_admin").isEmpty(), "the rollup is part of the batch's transaction");
        assertTrue(store.findByRequestId("req-0").isEmpty());
    }

    @Test
    void aRecordWithoutAPathFailsItsBatchLikeAnyMissingColumn() {
        UsageRecord noPath = new UsageRecord(T0, "req-nopath", "act_admin", "key_1", "openai", null, "POST", null, 200,
                1, 1, 1, 1, null, null, null, null);
        StoreException e = assertThrows(StoreException.class, () -> store.insertBatch(List.of(metered(1), noPath)));
        assertTrue(e.getMessage().contains("2 usage records"), e.getMessage());
        assertEquals(0, store.count());
        store.insertBatch(List.of(metered(2)));
        assertEquals(metered(2), store.findByRequestId("req-2").orElseThrow());
    }

    @Test
    void aFailingRecordInALaterBlockInsertsNothing() {
        List<UsageRecord> batch = new ArrayList<>();
        for (int i = 0; i < UsageStore.RECORDS_PER_BLOCK * 2 + 3; i++) {
            batch.add(i == UsageStore.RECORDS_PER_BLOCK + 5 ? unmetered(null) : metered(i));
        }
        assertThrows(StoreException.class, () -> store.insertBatch(batch));
        assertEquals(0, store.count());
    }

    @Test
    void aCombinationFirstSeenInAFailedBatchIsStoredAgainLater() {
        UsageRecord claude = new UsageRecord(T0, "req-claude", "act_b", "key_b", "anthropic", null, "POST", "/v1/messages",
                200, 5, 4, 3, 2, "claude-x", 1L, 2L, 0.5);
        // claude's combination is new in a batch that fails: its usage_dims row is rolled back...
        assertThrows(StoreException.class, () -> store.insertBatch(List.of(claude, unmetered(null))));
        // ...and the id it had goes to another combination in the next batch.
        store.insertBatch(List.of(metered(1)));
        store.insertBatch(List.of(claude));
        assertEquals(claude, store.findByRequestId("req-claude").orElseThrow());
        assertEquals(metered(1), store.findByRequestId("req-1").orElseThrow());
    }

    @Test
    void rowsStoredBeforeTheDimensionsTableReadBackUnchanged() throws Exception {
        String url = databaseAt("5", "INSERT INTO usage_records (time, request_id, actor_id, token_id, provider, connection_id,"
                + " method, path, status, duration_us, upstream_us, bytes_in, bytes_out, model, input_tokens, output_tokens, cost_usd)"
                + " VALUES (" + T0.toEpochMilli() + ", 'req-1', 'act_admin', 'key_1', 'openai', NULL, 'POST', '/v1/chat/completions',"
                + " 201, 1501, 901, 321, 4097, 'gpt-4o-mini', 13, 35, 0.000125),"
                + " (" + T0.toEpochMilli() + ", 'req-plain', NULL, NULL, NULL, 'conn_1', 'GET', '/status',"
                + " 502, 10, 0, 0, 0, NULL, NULL, NULL, NULL),"
                + " (" + T0.toEpochMilli() + ", 'req_0123456789abcdef01234567', NULL, NULL, NULL, 'conn_1', 'GET', '/status',"
                + " 502, 10, 0, 0, 0, NULL, NULL, NULL, NULL)");
        db = Database.open(url);
        store = new UsageStore(db);
        assertEquals(3, store.count());
        assertEquals(unmetered("req_0123456789abcdef01234567"), store.findByRequestId("req_0123456789abcdef01234567").orElseThrow(),
                "an id of Keyswap's own form stored as text before V7");
        assertEquals(new UsageRecord(T0, "req-1", "act_admin", "key_1", "openai", null, "POST", "/v1/chat/completions", 201,
                1501, 901, 321, 4097, "gpt-4o-mini", 13L, 35L, 0.000125), store.findByRequestId("req-1").orElseThrow());
        assertEquals(unmetered("req-plain"), store.findByRequestId("req-plain").orElseThrow());
        store.insertBatch(List.of(metered(2), unmetered("req-plain-2")));
        assertEquals(5, store.count());
        assertEquals(unmetered("req-plain-2"), store.findByRequestId("req-plain-2").orElseThrow());
    }

    @Test
    void rowsStoredBeforeTheBlocksReadBackUnchangedInBlocksOf256() throws Exception {
        long t0 = T0.toEpochMilli();
        String url = databaseAt("7",
                "INSERT INTO usage_dims (id, actor_id, token_id, provider, connection_id, method, model) VALUES"
                        + " (1, 'act_admin', 'key_1', 'openai', '', 'POST', 'gpt-4o-mini'), (2, '', '', '', 'conn_1', 'GET', '')",
                "INSERT INTO usage_paths (id, path) VALUES (1, '/v1/chat/completions'), (2, '/status')",
                // 300 rows with Keyswap's own ids as two integers (V7), then one with a text id.
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)"
                        + " INSERT INTO usage_rows (id, time, request_hi, request_lo, request_id, dims_id, path_id, status,"
                        + " duration_us, upstream_us, bytes_in, bytes_out, input_tokens, output_tokens, cost_usd)"
                        + " SELECT i, " + t0 + " + i, i - 150, i * 16, NULL, 1, 1, 200, i, i + 1, i + 2, i + 3, i + 4, i + 5, i * 0.25 FROM n",
                "INSERT INTO usage_rows (id, time, request_hi, request_lo, request_id, dims_id, path_id, status, duration_us,"
                        + " upstream_us, bytes_in, bytes_out, input_tokens, output_tokens, cost_usd)"
                        + " VALUES (301, " + t0 + ", NULL, NULL, 'req-plain', 2, 2, 502, 10, 0, 0, 0, NULL, NULL, NULL)");
        db = Database.open(url);
        store = new UsageStore(db);
        assertEquals(301, store.count());
        assertEquals(List.of("256|" + (t0 + 1) + "|" + (t0 + 256), "45|" + t0 + "|" + (t0 + 300)),
                rows("SELECT records, first_time, last_time FROM usage_blocks ORDER BY id"));
        for (int i : new int[] {1, 149, 150, 151, 256, 257, 300}) {
            String id = String.format("req_%016x%08x", (long) (i - 150), (long) (i * 16));
            assertEquals(new UsageRecord(T0.plusMillis(i), id, "act_admin", "key_1", "openai", null, "POST",
                    "/v1/chat/completions", 200, i, i + 1, i + 2, i + 3, "gpt-4o-mini", i + 4L, i + 5L, i * 0.25),
                    store.findByRequestId(id).orElseThrow(), id);
        }
        assertEquals(unmetered("req-plain"), store.findByRequestId("req-plain").orElseThrow());
        store.insertBatch(List.of(metered(2)));
        assertEquals(302, store.count());
        assertEquals(metered(2), store.findByRequestId("req-2").orElseThrow());
        assertEquals("req-2", rows("SELECT request_id FROM usage_records ORDER BY id DESC LIMIT 1").get(0),
                "a new block comes after the converted ones");
    }

    @Test
    void storeStillWorksAfterAFailedBatch() {
        assertThrows(StoreException.class, () -> store.insertBatch(List.of(unmetered(null))));
        store.insertBatch(List.of(metered(1), metered(2)));
        assertEquals(2, store.count());
    }

    @Test
    void emptyBatchIsANoOp() {
        store.insertBatch(List.of());
        assertEquals(0, store.count());
    }

    @Test
    void unknownRequestIdFindsNothing() {
        store.insertBatch(List.of(metered(1)));
        assertTrue(store.findByRequestId("req-unknown").isEmpty());
    }

    @Test
    void concurrentBatchesFromTheJdbcExecutorAreAllStored() throws Exception {
        List<CompletableFuture<Void>> writes = new ArrayList<>();
        for (int w = 0; w < 8; w++) {
            List<UsageRecord> batch = new ArrayList<>();
            for (int i = 0; i < 250; i++) {
                batch.add(metered(w * 1000 + i));
            }
            writes.add(db.submit(ds -> {
                store.insertBatch(batch);
                return null;
            }));
        }
        for (CompletableFuture<Void> f : writes) {
            f.get();
        }
        assertEquals(2000, store.count());
    }
}
