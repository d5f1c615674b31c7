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
        assertTrue(store.findByRequestId("req-0").isEmpty());
    }

    @Test
    void failingRowInsideAMultiRowInsertInsertsNothing() {
        List<UsageRecord> batch = new ArrayList<>();
        for (int i = 0; i < UsageStore.ROWS_PER_INSERT * 2 + 3; i++) {
            batch.add(i == UsageStore.ROWS_PER_INSERT + 5 ? unmetered(null) : metered(i));
        }
        assertThrows(StoreException.class, () -> store.insertBatch(batch));
        assertEquals(0, store.count());
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
