package dev.keyswap.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Token → key, directly and through a connection's memo of its last token. */
class AuthenticatorTest {
    private static final String ADMIN = "admin-token-for-tests-only";
    private final TokenHasher hasher = new TokenHasher(new byte[32]);
    /** What the database holds: keyed hash (as a map key) → key record. */
    private final Map<String, ApiKey> stored = new ConcurrentHashMap<>();
    private final AtomicInteger loads = new AtomicInteger();
    private final TokenCache cache = new TokenCache(hash -> {
        loads.incrementAndGet();
        return Optional.ofNullable(stored.get(hex(hash)));
    }, Runnable::run, Duration.ofSeconds(5), Duration.ofSeconds(1), 1000);
    private final Authenticator authenticator = new Authenticator(hasher, cache, ADMIN);

    private static String hex(byte[] b) {
        return java.util.HexFormat.of().formatHex(b);
    }

    private String storeKey(String id) {
        String token = TokenFormat.newToken();
        stored.put(hex(hasher.hash(token)), new ApiKey(id, "act_1", id, Set.of(ApiKey.SCOPE_PROXY), Set.of(), true, null,
                null, null, Instant.EPOCH, null, Set.of()));
        return token;
    }

    private static String idOf(Optional<ApiKey> key) {
        return key.map(ApiKey::id).orElse("none");
    }

    @Test
    void aConnectionGetsTheKeyOfEachTokenItSendsNotTheLastOne() {
        String a = storeKey("key_a");
        String b = storeKey("key_b");
        Authenticator.ConnectionTokens conn = authenticator.forConnection();
        assertEquals("key_a", idOf(conn.lookup(a, System.nanoTime()).join()));
        assertEquals("key_a", idOf(conn.lookup(a, System.nanoTime()).join()));
        assertEquals("key_b", idOf(conn.lookup(b, System.nanoTime()).join()), "a different token on the same connection");
        assertEquals("key_a", idOf(conn.lookup(a, System.nanoTime()).join()));
        // A token differing from the remembered one in its last character only.
        String nearA = a.substring(0, a.length() - 1) + (a.endsWith("x") ? "y" : "x");
        assertEquals("none", idOf(conn.lookup(nearA, System.nanoTime()).join()));
        assertEquals("none", idOf(conn.lookup(a + "x", System.nanoTime()).join()));
        assertEquals("none", idOf(conn.lookup("", System.nanoTime()).join()));
        assertEquals("key_bootstrap_admin", idOf(conn.lookup(ADMIN, System.nanoTime()).join()));
        assertEquals("key_a", idOf(conn.lookup(a, System.nanoTime()).join()));
    }

    @Test
    void aRememberedTokenStillAsksTheCacheSoRevocationTakesEffect() {
        String a = storeKey("key_a");
        Authenticator.ConnectionTokens conn = authenticator.forConnection();
        assertEquals("key_a", idOf(conn.lookup(a, System.nanoTime()).join()));
        assertEquals(1, loads.get());
        assertEquals("key_a", idOf(conn.lookup(a, System.nanoTime()).join()));
        assertEquals(1, loads.get(), "a repeat is a cache hit");

        // Revoked in storage and dropped from the cache (what `keyswap keys revoke` does locally).
        byte[] hash = hasher.hash(a);
        stored.computeIfPresent(hex(hash), (k, key) -> new ApiKey(key.id(), key.actorId(), key.name(), key.scopes(),
                key.providers(), key.allowServerKeys(), key.rateLimitRpm(), key.expiresAt(), Instant.now(),
                key.createdAt(), key.lastUsedAt(), key.connections()));
        cache.invalidate(hash);
        Optional<ApiKey> after = conn.lookup(a, System.nanoTime()).join();
        assertEquals(2, loads.get());
        assertTrue(after.orElseThrow().isRevoked(), "the connection sees the revocation");

        stored.clear();
        cache.invalidateAll();
        assertEquals("none", idOf(conn.lookup(a, System.nanoTime()).join()), "a deleted key is gone for the connection too");
    }

    @Test
    void aKnownKeyIsReusedWithoutAskingTheCacheUntilTheCacheWouldRefreshIt() throws Exception {
        // Known keys live 200 ms (reloaded after 100 ms), unknown tokens 50 ms.
        TokenCache shortCache = new TokenCache(hash -> {
            loads.incrementAndGet();
            return Optional.ofNullable(stored.get(hex(hash)));
        }, Runnable::run, Duration.ofMillis(200), Duration.ofMillis(50), 1000);
        Authenticator.ConnectionTokens conn = new Authenticator(hasher, shortCache, ADMIN).forConnection();
        String a = storeKey("key_a");
        long start = System.nanoTime();
        java.util.concurrent.CompletableFuture<Optional<ApiKey>> first = conn.lookup(a, start);
        assertEquals("key_a", idOf(first.join()));
        assertSame(first, conn.lookup(a, start + 1_000_000), "a repeat reuses the answer instead of asking the cache");

        // Revoked in storage only (another instance, the CLI): the answer may be reused until the
        // cache would refresh it, and no longer.
        byte[] hash = hasher.hash(a);
        stored.computeIfPresent(hex(hash), (k, key) -> new ApiKey(key.id(), key.actorId(), key.name(), key.scopes(),
                key.providers(), key.allowServerKeys(), key.rateLimitRpm(), key.expiresAt(), Instant.now(),
                key.createdAt(), key.lastUsedAt(), key.connections()));
        Thread.sleep(120);
        conn.lookup(a, System.nanoTime()).join(); // past 100 ms: asks the cache, which starts its reload
        assertTrue(conn.lookup(a, System.nanoTime()).join().orElseThrow().isRevoked(),
                "the revocation is seen once the cache has reloaded");

        // Unknown tokens are never reused: a key created meanwhile is found once the cache's
        // negative entry (50 ms) is gone, not after the known-key window.
        String later = TokenFormat.newToken();
        assertEquals("none", idOf(conn.lookup(later, System.nanoTime()).join()));
        stored.put(hex(hasher.hash(later)), new ApiKey("key_later", "act_1", "later", Set.of(ApiKey.SCOPE_PROXY), Set.of(),
                true, null, null, null, Instant.EPOCH, null, Set.of()));
        Thread.sleep(70);
        assertEquals("key_later", idOf(conn.lookup(later, System.nanoTime()).join()));
    }

    @Test
    void malformedTokensNeverReachTheCacheOnAnyPath() {
        Authenticator.ConnectionTokens conn = authenticator.forConnection();
        for (String bad : new String[] {"ptk_short", "Bearer x", "ptk_" + "A".repeat(TokenFormat.LENGTH - 4)}) {
            assertEquals("none", idOf(conn.lookup(bad, System.nanoTime()).join()));
            assertEquals("none", idOf(conn.lookup(bad, System.nanoTime()).join()));
            assertEquals("none", idOf(authenticator.lookup(bad).join()));
        }
        assertEquals(0, loads.get());
    }

    @Test
    void sameTokenComparesWholeValues() {
        assertTrue(Authenticator.sameToken("ptk_abc", "ptk_abc"));
        assertTrue(Authenticator.sameToken("", ""));
        assertFalse(Authenticator.sameToken("ptk_abc", "ptk_abd"));
        assertFalse(Authenticator.sameToken("ptk_abc", "qtk_abc"));
        assertFalse(Authenticator.sameToken("ptk_abc", "ptk_ab"));
        assertFalse(Authenticator.sameToken("\u00e9", "\u00e8"));
    }
}
