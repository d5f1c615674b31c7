package dev.keyswap.store;

import dev.keyswap.auth.ApiKey;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Blocking repository for Keyswap tokens; call it on the JDBC executor. */
public final class ApiKeyStore {
    public ApiKeyStore(Database db) {
        throw new UnsupportedOperationException("TODO helper A");
    }

    /** Inserts the key with its keyed token hash. */
    public void insert(ApiKey key, byte[] tokenHash) {
        throw new UnsupportedOperationException("TODO helper A");
    }

    public Optional<ApiKey> findByTokenHash(byte[] tokenHash) {
        throw new UnsupportedOperationException("TODO helper A");
    }

    public Optional<ApiKey> get(String id) {
        throw new UnsupportedOperationException("TODO helper A");
    }

    /** Keys of one actor, or of all actors when actorId is null; oldest first. */
    public List<ApiKey> list(String actorId) {
        throw new UnsupportedOperationException("TODO helper A");
    }

    /** @return false when no such key, or already revoked */
    public boolean revoke(String id, Instant at) {
        throw new UnsupportedOperationException("TODO helper A");
    }

    public void touchLastUsed(Map<String, Instant> lastUsedById) {
        throw new UnsupportedOperationException("TODO helper A");
    }

    /** A new key id: "key_" + 16 base62 characters. */
    public static String newId() {
        throw new UnsupportedOperationException("TODO helper A");
    }
}
