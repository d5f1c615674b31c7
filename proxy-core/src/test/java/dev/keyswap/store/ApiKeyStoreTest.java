package dev.keyswap.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keyswap.auth.ApiKey;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Instant;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ApiKeyStoreTest {
    private static final Instant T0 = Instant.ofEpochMilli(1_760_000_000_123L);

    @TempDir
    Path dir;
    private Database db;
    private ApiKeyStore store;

    @BeforeEach
    void open() throws Exception {
        db = Database.open("jdbc:sqlite:" + dir.resolve("keys.db"));
        store = new ApiKeyStore(db);
        try (Connection c = db.dataSource().getConnection(); Statement st = c.createStatement()) {
            st.executeUpdate("INSERT INTO actors (id, name, created_at) VALUES ('act_bob', 'bob', 1)");
        }
    }

    @AfterEach
    void close() {
        db.close();
    }

    private static byte[] hash(int seed) {
        byte[] h = new byte[32];
        for (int i = 0; i < h.length; i++) {
            h[i] = (byte) (seed * 31 + i);
        }
        return h;
    }

    private static ApiKey fullKey(String id) {
        return new ApiKey(id, "act_admin", "ci deploys", Set.of("proxy", "read"), Set.of("openai", "anthropic"),
                true, 600, T0.plusSeconds(86_400), null, T0, T0.plusSeconds(5), Set.of());
    }

    private static ApiKey minimalKey(String id, String actor, Instant created) {
        return new ApiKey(id, actor, null, Set.of("proxy"), Set.of(), false, null, null, null, created, null, Set.of());
    }

    @Test
    void insertedKeyReadsBackWithEveryField() {
        ApiKey key = fullKey(ApiKeyStore.newId());
        store.insert(key, hash(1));
        assertEquals(key, store.get(key.id()).orElseThrow());
    }

    @Test
    void nullOptionalFieldsAndAnEmptyProviderSetReadBackAsSuch() {
        ApiKey key = minimalKey(ApiKeyStore.newId(), "act_admin", T0);
        store.insert(key, hash(2));
        ApiKey read = store.get(key.id()).orElseThrow();
        assertEquals(key, read);
        assertTrue(read.providers().isEmpty());
        assertTrue(read.allowsProvider("anything"));
    }

    @Test
    void keyIsFoundByItsTokenHashAndNotByAnother() {
        ApiKey key = fullKey(ApiKeyStore.newId());
        store.insert(key, hash(3));
        assertEquals(key, store.findByTokenHash(hash(3)).orElseThrow());
        assertTrue(store.findByTokenHash(hash(4)).isEmpty());
        assertTrue(store.get("key_missing").isEmpty());
    }

    @Test
    void duplicateTokenHashIsRefused() {
        store.insert(fullKey(ApiKeyStore.newId()), hash(5));
        assertThrows(StoreException.class, () -> store.insert(fullKey(ApiKeyStore.newId()), hash(5)));
    }

    @Test
    void keyOfAnUnknownActorIsRefusedByTheForeignKey() {
        assertThrows(StoreException.class, () -> store.insert(minimalKey(ApiKeyStore.newId(), "act_nobody", T0), hash(6)));
        assertTrue(store.list(null).isEmpty());
    }

    @Test
    void scopeOrProviderNamesWithCommasAreRefused() {
        ApiKey badScope = new ApiKey(ApiKeyStore.newId(), "act_admin", null, Set.of("proxy,admin"), Set.of(),
                false, null, null, null, T0, null, Set.of());
        assertThrows(IllegalArgumentException.class, () -> store.insert(badScope, hash(7)));
        ApiKey badProvider = new ApiKey(ApiKeyStore.newId(), "act_admin", null, Set.of("proxy"), Set.of("a,b"),
                false, null, null, null, T0, null, Set.of());
        assertThrows(IllegalArgumentException.class, () -> store.insert(badProvider, hash(8)));
    }

    @Test
    void listReturnsOneActorsKeysOrEveryoneOldestFirst() {
        ApiKey adminNew = minimalKey("key_c", "act_admin", T0.plusSeconds(20));
        ApiKey bobOld = minimalKey("key_b", "act_bob", T0);
        ApiKey adminOld = minimalKey("key_a", "act_admin", T0.plusSeconds(10));
        store.insert(adminNew, hash(10));
        store.insert(bobOld, hash(11));
        store.insert(adminOld, hash(12));

        assertEquals(List.of(adminOld, adminNew), store.list("act_admin"));
        assertEquals(List.of(bobOld), store.list("act_bob"));
        assertEquals(List.of(bobOld, adminOld, adminNew), store.list(null));
        assertTrue(store.list("act_nobody").isEmpty());
    }

    @Test
    void revokeSucceedsOnceAndKeepsTheFirstTime() {
        ApiKey key = fullKey(ApiKeyStore.newId());
        store.insert(key, hash(20));

        assertTrue(store.revoke(key.id(), T0.plusSeconds(60)));
        assertFalse(store.revoke(key.id(), T0.plusSeconds(120)));
        ApiKey revoked = store.findByTokenHash(hash(20)).orElseThrow();
        assertTrue(revoked.isRevoked());
        assertEquals(T0.plusSeconds(60), revoked.revokedAt());
    }

    @Test
    void revokingAnUnknownKeyReportsFalse() {
        assertFalse(store.revoke("key_missing", T0));
    }

    @Test
    void touchLastUsedUpdatesSeveralKeysAndIgnoresUnknownIds() {
        ApiKey a = minimalKey("key_a", "act_admin", T0);
        ApiKey b = minimalKey("key_b", "act_admin", T0);
        store.insert(a, hash(30));
        store.insert(b, hash(31));

        Map<String, Instant> touches = new LinkedHashMap<>();
        touches.put("key_a", T0.plusSeconds(1));
        touches.put("key_b", T0.plusSeconds(2));
        touches.put("key_missing", T0.plusSeconds(3));
        store.touchLastUsed(touches);

        assertEquals(T0.plusSeconds(1), store.get("key_a").orElseThrow().lastUsedAt());
        assertEquals(T0.plusSeconds(2), store.get("key_b").orElseThrow().lastUsedAt());
    }

    @Test
    void touchLastUsedNeverMovesBackwards() {
        store.insert(minimalKey("key_a", "act_admin", T0), hash(32));
        store.touchLastUsed(Map.of("key_a", T0.plusSeconds(50)));
        store.touchLastUsed(Map.of("key_a", T0.plusSeconds(10)));
        assertEquals(T0.plusSeconds(50), store.get("key_a").orElseThrow().lastUsedAt());
        store.touchLastUsed(Map.of());
        assertEquals(T0.plusSeconds(50), store.get("key_a").orElseThrow().lastUsedAt());
    }

    @Test
    void connectionsRoundTripAndEmptyMeansNone() {
        ApiKey key = new ApiKey(ApiKeyStore.newId(), "act_admin", "conns", Set.of("proxy"), Set.of(), false, null, null,
                null, T0, null, Set.of("cn_b", "cn_a"));
        store.insert(key, hash(50));
        ApiKey read = store.get(key.id()).orElseThrow();
        assertEquals(key, read);
        assertEquals(Set.of("cn_a", "cn_b"), read.connections());
        assertTrue(read.allowsConnection("cn_a"));
        assertFalse(read.allowsConnection("cn_c"));

        ApiKey none = minimalKey(ApiKeyStore.newId(), "act_admin", T0);
        store.insert(none, hash(51));
        assertEquals(Set.of(), store.get(none.id()).orElseThrow().connections());
        assertFalse(store.get(none.id()).orElseThrow().allowsConnection("cn_a"), "empty means no connection");

        ApiKey comma = new ApiKey(ApiKeyStore.newId(), "act_admin", null, Set.of("proxy"), Set.of(), false, null, null,
                null, T0, null, Set.of("cn_a,cn_b"));
        assertThrows(IllegalArgumentException.class, () -> store.insert(comma, hash(52)));
    }

    @Test
    void newIdsAreKeyPrefixedBase62AndDistinct() {
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < 1000; i++) {
            String id = ApiKeyStore.newId();
            assertTrue(id.matches("key_[0-9A-Za-z]{16}"), id);
            ids.add(id);
        }
        assertEquals(1000, ids.size());
        assertNotEquals(ApiKeyStore.newId(), ApiKeyStore.newId());
    }

    @Test
    void repositoryWorksFromTheJdbcExecutor() throws Exception {
        ApiKey key = fullKey(ApiKeyStore.newId());
        db.submit(ds -> {
            store.insert(key, hash(40));
            return null;
        }).get();
        assertEquals(key, db.submit(ds -> store.findByTokenHash(hash(40)).orElseThrow()).get());
    }
}
