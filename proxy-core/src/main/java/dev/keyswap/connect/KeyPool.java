package dev.keyswap.connect;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Spreads requests over a connection's secrets and rests the ones an upstream refused: a secret
 * answered 429 or 401 cools down (for Retry-After when the upstream gave one, else a default) and
 * is skipped meanwhile. When every secret is cooling, the one that rests soonest is used anyway:
 * the upstream's own answer then reaches the client.
 */
public final class KeyPool {
    private final ConcurrentHashMap<String, AtomicInteger> next = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Long> coolingUntil = new ConcurrentHashMap<>();

    /** The index of the secret to use now. */
    public int pick(String connectionId, int size, long nowNanos) {
        if (size <= 1) {
            return 0;
        }
        int start = Math.floorMod(next.computeIfAbsent(connectionId, k -> new AtomicInteger()).getAndIncrement(), size);
        int soonest = start;
        long soonestUntil = Long.MAX_VALUE;
        for (int i = 0; i < size; i++) {
            int index = (start + i) % size;
            Long until = coolingUntil.get(connectionId + "#" + index);
            if (until == null || until - nowNanos <= 0) {
                return index;
            }
            if (until < soonestUntil) {
                soonestUntil = until;
                soonest = index;
            }
        }
        return soonest;
    }

    public void coolDown(String connectionId, int index, long untilNanos) {
        coolingUntil.put(connectionId + "#" + index, untilNanos);
    }

    public boolean isCooling(String connectionId, int index, long nowNanos) {
        Long until = coolingUntil.get(connectionId + "#" + index);
        return until != null && until - nowNanos > 0;
    }
}
