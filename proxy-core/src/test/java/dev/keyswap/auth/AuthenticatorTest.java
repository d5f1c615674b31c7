package dev.keyswap.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
        assertEquals("key_a", idOf(conn.lookup(a).join()));
        assertEquals("key_a", idOf(conn.lookup(a).join()));
        assertEquals("key_b", idOf(conn.lookup(b).join()), "a different token on the same connection");
        assertEquals("key_a", idOf(conn.lookup(a).join()));
        // A token differing from the remembered one in its last character only.
        String nearA = a.substring(0, a.length() - 1) + (a.endsWith("x") ? "y" : "x");
        assertEquals("none", idOf(conn.lookup(nearA).join()));
        assertEquals("none", idOf(conn.lookup(a + "x").join()));
        assertEquals("none", idOf(conn.lookup("").join()));
        assertEquals("key_bootstrap_admin", idOf(conn.lookup(ADMIN).join()));
        assertEquals("key_a", idOf(conn.lookup(a).join()));
    }

    @Test
    void aRememberedTokenStillAsksTheCacheSoRevocationTakesEffect() {
        String a = storeKey("key_a");
        Authenticator.ConnectionTokens conn = authenticator.forConnection();
        assertEquals("key_a", idOf(conn.lookup(a).join()));
        assertEquals(1, loads.get());
        assertEquals("key_a", idOf(conn.lookup(a).join()));
        assertEquals(1, loads.get(), "a repeat is a cache hit");

        // Revoked in storage and dropped from the cache (what `keyswap keys revoke` does locally).
        byte[] hash = hasher.hash(a);
        stored.computeIfPresent(hex(hash), (k, key) -> new ApiKey(key.id(), key.actorId(), key.name(), key.scopes(),
                key.providers(), key.allowServerKeys(), key.rateLimitRpm(), key.expiresAt(), Instant.now(),
                key.createdAt(), key.lastUsedAt(), key.connections()));
        cache.invalidate(hash);
        Optional<ApiKey> after = conn.lookup(a).join();
        assertEquals(2, loads.get());
        assertTrue(after.orElseThrow().isRevoked(), "the connection sees the revocation");

        stored.clear();
        cache.invalidateAll();
        assertEquals("none", idOf(conn.lookup(a).join()), "a deleted key is gone for the connection too");
    }

    @Test
    void malformedTokensNeverReachTheCacheOnAnyPath() {
        Authenticator.ConnectionTokens conn = authenticator.forConnection();
        for (String bad : new String[] {"ptk_short", "Bearer x", "ptk_" + "A".repeat(TokenFormat.LENGTH - 4)}) {
            assertEquals("none", idOf(conn.lookup(bad).join()));
            assertEquals("none", idOf(conn.lookup(bad).join()));
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
