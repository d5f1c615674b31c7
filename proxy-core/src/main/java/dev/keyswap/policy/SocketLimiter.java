package dev.keyswap.policy;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Concurrent long-lived sockets per key: a leaked or shared token cannot hold an unbounded
 * number of upstream WebSockets open. A slot is taken before the upstream is contacted and
 * given back exactly once when the socket, or the attempt, ends. Each key's count changes
 * atomically inside the map, so a release racing an acquire can neither lose nor double a slot.
 */
public final class SocketLimiter {
    private final ConcurrentHashMap<String, Integer> open = new ConcurrentHashMap<>();

    /** @return false when the key already holds {@code max} sockets */
    public boolean tryAcquire(String keyId, int max) {
        boolean[] acquired = {false};
        open.compute(keyId, (k, n) -> {
            int current = n == null ? 0 : n;
            if (current >= max) {
                return n;
            }
            acquired[0] = true;
            return current + 1;
        });
        return acquired[0];
    }

    public void release(String keyId) {
        open.computeIfPresent(keyId, (k, n) -> n <= 1 ? null : n - 1);
    }

    public int open(String keyId) {
        return open.getOrDefault(keyId, 0);
    }
}
