package dev.keyswap.policy;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Per-key requests-per-minute limits by GCRA (the generic cell rate algorithm): one atomic
 * timestamp per key, no background refill, exact under concurrency from several event loops.
 * A key limited to N rpm may burst N requests, then one every 60/N seconds.
 */
public final class RateLimiter {
    private static final long MINUTE_NANOS = Duration.ofMinutes(1).toNanos();
    private final Cache<String, AtomicLong> theoreticalArrival = Caffeine.newBuilder()
            .expireAfterAccess(Duration.ofMinutes(2))
            .maximumSize(1_000_000)
            .executor(Runnable::run) // bookkeeping on the event loop, no wake-up of a pool thread (see TokenCache)
            .build();

    /** The outcome: whether allowed, what remains, and when to retry. */
    public record Decision(boolean allowed, int limit, int remaining, long resetSeconds, long retryAfterSeconds) {
    }

    public Decision acquire(String keyId, int rpm, long nowNanos) {
        long interval = MINUTE_NANOS / rpm;
        long tolerance = MINUTE_NANOS - interval;
        AtomicLong tat = theoreticalArrival.get(keyId, k -> new AtomicLong(nowNanos));
        while (true) {
            long current = tat.get();
            long base = Math.max(current, nowNanos);
            long next = base + interval;
            long allowAt = next - interval - tolerance;
            if (allowAt > nowNanos) {
                long retry = ceilSeconds(allowAt - nowNanos);
                return new Decision(false, rpm, 0, ceilSeconds(current - nowNanos), Math.max(1, retry));
            }
            if (tat.compareAndSet(current, next)) {
                // In longs until capped by the limit: near the largest limits the quotient passes
                // Integer.MAX_VALUE, and a cast first made it negative.
                long remaining = Math.max(0, (tolerance - (next - nowNanos - interval)) / interval);
                return new Decision(true, rpm, (int) Math.min(rpm - 1, remaining), ceilSeconds(next - nowNanos), 0);
            }
        }
    }

    private static long ceilSeconds(long nanos) {
        return nanos <= 0 ? 0 : (nanos + 999_999_999L) / 1_000_000_000L;
    }
}
