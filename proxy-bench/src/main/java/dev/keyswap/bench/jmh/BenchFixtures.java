package dev.keyswap.bench.jmh;

import dev.keyswap.auth.ApiKey;
import dev.keyswap.vault.MasterKey;
import java.time.Instant;
import java.util.Set;

/** Fixed inputs shared by the benchmarks (no secret here is real). */
final class BenchFixtures {
    private BenchFixtures() {
    }

    /** A constant master key, so runs are comparable. */
    static MasterKey masterKey() {
        byte[] raw = new byte[32];
        for (int i = 0; i < raw.length; i++) {
            raw[i] = (byte) (i * 7 + 3);
        }
        return MasterKey.of(raw);
    }

    /** The record a token cache hit returns: a proxy key for any provider, server keys allowed. */
    static ApiKey apiKey() {
        return new ApiKey("key_bench", "act_bench", "bench key", Set.of(ApiKey.SCOPE_PROXY), Set.of(), true, 600,
                null, null, Instant.parse("2025-01-01T00:00:00Z"), null, Set.of());
    }
}
