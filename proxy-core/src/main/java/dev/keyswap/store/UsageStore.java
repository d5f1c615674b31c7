package dev.keyswap.store;

import dev.keyswap.usage.UsageRecord;
import java.util.List;
import java.util.Optional;

/** Blocking repository for usage records; call it on the JDBC executor. */
public final class UsageStore {
    public UsageStore(Database db) {
        throw new UnsupportedOperationException("TODO helper A");
    }

    /** Inserts all records in one transaction (all or nothing). */
    public void insertBatch(List<UsageRecord> records) {
        throw new UnsupportedOperationException("TODO helper A");
    }

    public Optional<UsageRecord> findByRequestId(String requestId) {
        throw new UnsupportedOperationException("TODO helper A");
    }

    public long count() {
        throw new UnsupportedOperationException("TODO helper A");
    }
}
