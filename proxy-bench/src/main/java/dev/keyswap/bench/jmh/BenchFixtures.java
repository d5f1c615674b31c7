package dev.keyswap.bench.jmh;

import dev.keyswap.auth.ApiKey;
import dev.keyswap.vault.MasterKey;
import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
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

    /**
     * What an encoder in an embedded channel wrote: the first buffer (the head) as text, every
     * buffer released. The objects-path baselines return it so that nothing is optimised away.
     */
    static String drainHead(EmbeddedChannel encoder) {
        ByteBuf out;
        String first = null;
        while ((out = encoder.readOutbound()) != null) {
            if (first == null) {
                first = out.toString(StandardCharsets.ISO_8859_1);
            }
            out.release();
        }
        return first;
    }
}
