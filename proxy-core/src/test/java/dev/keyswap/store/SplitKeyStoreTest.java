package dev.keyswap.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keyswap.store.SplitKeyStore.Created;
import dev.keyswap.store.SplitKeyStore.SplitKey;
import dev.keyswap.vault.VaultException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SplitKeyStoreTest {
    private static final String PROVIDER_KEY = "sk-fake-BYOKsplitSECRET-0123456789";

    @TempDir
    Path dir;
    private Database db;
    private SplitKeyStore store;

    @BeforeEach
    void open() {
        db = Database.open("jdbc:sqlite:" + dir.resolve("split.db"));
        store = new SplitKeyStore(db, ConnectionStoreTest.vault(1));
    }

    @AfterEach
    void close() {
        db.close();
    }

    private Created create(String actor) {
        return store.create(actor, "openai", PROVIDER_KEY.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void createReturnsTheRecordAndA32ByteBase64UrlClientPart() {
        Instant before = Instant.now().minusMillis(1);
        Created c = create("act_admin");
        assertTrue(c.key().id().matches("pk_[0-9A-Za-z]{16}"), c.key().id());
        assertEquals("act_admin", c.key().actorId());
        assertEquals("openai", c.key().provider());
        assertNull(c.key().revokedAt());
        assertFalse(c.key().createdAt().isBefore(before));
        assertTrue(c.clientPart().matches("[A-Za-z0-9_-]{43}"), "base64url, no padding");
        assertEquals(32, Base64.getUrlDecoder().decode(c.clientPart()).length);
        assertEquals(c.key(), store.get(c.key().id()).orElseThrow());
        assertNotEquals(c.clientPart(), create("act_admin").clientPart());
    }

    @Test
    void opensWithBothParts() {
        Created c = create("act_admin");
        assertEquals(PROVIDER_KEY, store.open(c.key().id(), c.clientPart()).orElseThrow());
    }

    @Test
    void wrongOrMalformedClientPartThrows() {
        Created c = create("act_admin");
        Created other = create("act_admin");
        assertThrows(VaultException.class, () -> store.open(c.key().id(), other.clientPart()));
        char last = c.clientPart().charAt(10);
        String flipped = c.clientPart().substring(0, 10) + (last == 'A' ? 'B' : 'A') + c.clientPart().substring(11);
        assertThrows(VaultException.class, () -> store.open(c.key().id(), flipped));
        for (String bad : new String[] {"", "short", c.clientPart() + "A", c.clientPart().replace(c.clientPart().charAt(0), '+'), null}) {
            VaultException e = assertThrows(VaultException.class, () -> store.open(c.key().id(), bad));
            assertFalse(e.getMessage().contains(PROVIDER_KEY));
        }
    }

    @Test
    void unknownOrRevokedKeyIsEmpty() {
        assertTrue(store.open("pk_missing", "x").isEmpty());
        Created c = create("act_admin");
        assertTrue(store.revoke(c.key().id(), "act_admin"));
        assertTrue(store.open(c.key().id(), c.clientPart()).isEmpty());
        assertTrue(store.get(c.key().id()).orElseThrow().revokedAt() != null);
    }

    @Test
    void revokeIsScopedToTheActorAndHappensOnce() {
        Created c = create("act_bob");
        assertFalse(store.revoke(c.key().id(), "act_admin"), "another actor's key");
        assertEquals(PROVIDER_KEY, store.open(c.key().id(), c.clientPart()).orElseThrow());
        assertTrue(store.revoke(c.key().id(), "act_bob"));
        Instant first = store.get(c.key().id()).orElseThrow().revokedAt();
        assertFalse(store.revoke(c.key().id(), null), "already revoked");
        assertEquals(first, store.get(c.key().id()).orElseThrow().revokedAt());
        assertFalse(store.revoke("pk_missing", null));
        Created d = create("act_admin");
        assertTrue(store.revoke(d.key().id(), null), "a null actor revokes any");
    }

    @Test
    void listIsScopedToTheActorOldestFirst() throws Exception {
        Created a = create("act_admin");
        Created b = create("act_bob");
        Created c = create("act_admin");
        try (Connection conn = db.dataSource().getConnection();
             PreparedStatement ps = conn.prepareStatement("UPDATE split_keys SET created_at = ? WHERE id = ?")) {
            long t = 1_000;
            for (Created x : List.of(a, b, c)) {
                ps.setLong(1, t++);
                ps.setString(2, x.key().id());
                ps.executeUpdate();
            }
        }
        List<String> admin = store.list("act_admin").stream().map(SplitKey::id).toList();
        assertEquals(List.of(a.key().id(), c.key().id()), admin);
        assertEquals(List.of(b.key().id()), store.list("act_bob").stream().map(SplitKey::id).toList());
        assertEquals(List.of(a.key().id(), b.key().id(), c.key().id()), store.list(null).stream().map(SplitKey::id).toList());
        assertTrue(store.list("act_nobody").isEmpty());
    }

    @Test
    void databaseHoldsNeitherTheProviderKeyNorTheClientPart() throws Exception {
        Created c = create("act_admin");
        db.close();
        db = Database.open("jdbc:sqlite:" + dir.resolve("split.db"));
        byte[] clientPartBytes = Base64.getUrlDecoder().decode(c.clientPart());
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().startsWith("split.db")).toList()) {
                byte[] bytes = Files.readAllBytes(f);
                assertFalse(ConnectionStoreTest.contains(bytes, PROVIDER_KEY.getBytes(StandardCharsets.UTF_8)), f.toString());
                assertFalse(ConnectionStoreTest.contains(bytes, c.clientPart().getBytes(StandardCharsets.US_ASCII)), f.toString());
                assertFalse(ConnectionStoreTest.contains(bytes, clientPartBytes), f.toString());
            }
        }
        assertEquals(PROVIDER_KEY, new SplitKeyStore(db, ConnectionStoreTest.vault(1)).open(c.key().id(), c.clientPart()).orElseThrow());
    }

    @Test
    void rowCopiedUnderAnotherIdFailsClosed() throws Exception {
        Created a = create("act_admin");
        Created b = create("act_admin");
        try (Connection conn = db.dataSource().getConnection(); Statement st = conn.createStatement()) {
            st.executeUpdate("UPDATE split_keys SET (key_id, nonce, ciphertext) = (SELECT key_id, nonce, ciphertext FROM split_keys"
                    + " WHERE id = '" + a.key().id() + "') WHERE id = '" + b.key().id() + "'");
        }
        assertThrows(VaultException.class, () -> store.open(b.key().id(), a.clientPart()));
    }

    @Test
    void invalidInputIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> store.create("act_admin", "openai", new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> store.create("act_admin", " ", new byte[] {1}));
        assertThrows(IllegalArgumentException.class, () -> store.create(null, "openai", new byte[] {1}));
        // What a header cannot carry: every request with the key would fail unanswered.
        for (String bad : new String[] {"\uFEFFsk-test-key-000000", "sk-test-key\r\nX-Injected: 1", "sk-test-k\u00e9y"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> store.create("act_admin", "openai", bad.getBytes(StandardCharsets.UTF_8)));
            assertTrue(e.getMessage().startsWith("provider key:"), e.getMessage());
            assertFalse(e.getMessage().contains("sk-test"), "the message quotes the key: " + e.getMessage());
        }
        assertTrue(store.list("act_admin").isEmpty(), "nothing was stored");
        assertTrue(store.list(null).isEmpty());
    }
}
