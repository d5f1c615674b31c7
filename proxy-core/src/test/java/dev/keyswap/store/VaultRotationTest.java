package dev.keyswap.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keyswap.auth.TokenFormat;
import dev.keyswap.auth.TokenHasher;
import dev.keyswap.vault.MasterKey;
import dev.keyswap.vault.Sealed;
import dev.keyswap.vault.Vault;
import dev.keyswap.vault.VaultException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rotation over real SQLite files. The sealed tables are test tables of the convention's shape
 * (so this does not depend on the connections migration) plus the real vault_meta, and the
 * production table list, whose tables this database may not have yet (skipped).
 */
class VaultRotationTest {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final VaultRotation.SealedTable SECRETS = new VaultRotation.SealedTable("test_secrets", "id", "actor_id");
    private static final VaultRotation.SealedTable SPLITS = new VaultRotation.SealedTable("test_splits", "id", "actor_id");
    private static final List<VaultRotation.SealedTable> TABLES = Stream.concat(
            Stream.of(SECRETS, SPLITS, new VaultRotation.SealedTable("no_such_table", "id", "actor_id")),
            VaultRotation.TABLES.stream()).toList();
    private static final int SECRET_ROWS = 25;
    private static final int SPLIT_ROWS = 5;

    @TempDir
    Path dir;
    private Database db;
    private final MasterKey oldKey = VaultKeysTest.randomKey();
    private final MasterKey newKey = VaultKeysTest.randomKey();
    private final Vault oldOnly = new Vault(List.of(oldKey));
    private final Vault newOnly = new Vault(List.of(newKey));
    private final Vault ring = new Vault(List.of(newKey, oldKey));
    /** Row id to expected plaintext. */
    private final Map<String, String> secrets = new LinkedHashMap<>();
    private final Map<String, String> splits = new LinkedHashMap<>();
    private final Map<String, byte[]> clientParts = new LinkedHashMap<>();
    private String token;
    private byte[] tokenHash;

    @BeforeEach
    void seedUnderTheOldKey() throws SQLException {
        db = Database.open("jdbc:sqlite:" + dir.resolve("keyswap.db"));
        try (Connection c = db.dataSource().getConnection(); Statement st = c.createStatement()) {
            for (String t : List.of(SECRETS.name(), SPLITS.name())) {
                st.execute("CREATE TABLE " + t + " (id TEXT PRIMARY KEY, actor_id TEXT NOT NULL, key_id TEXT NOT NULL,"
                        + " nonce BLOB NOT NULL, ciphertext BLOB NOT NULL)");
            }
        }
        token = TokenFormat.newToken();
        tokenHash = new TokenHasher(VaultKeys.open(db, oldOnly, oldKey).tokenPepper()).hash(token);
        for (int i = 0; i < SECRET_ROWS; i++) {
            String id = "cs_" + (100 + i);
            String secret = "sk-secret-" + i + "-" + RANDOM.nextInt(1_000_000);
            secrets.put(id, secret);
            insert(SECRETS, id, "act_" + (i % 3), oldOnly.seal("act_" + (i % 3), id, bytes(secret)));
        }
        for (int i = 0; i < SPLIT_ROWS; i++) {
            String id = "pk_" + i;
            byte[] part = new byte[32];
            RANDOM.nextBytes(part);
            splits.put(id, "provider-key-" + i);
            clientParts.put(id, part);
            insert(SPLITS, id, "act_0", oldOnly.sealSplit("act_0", id, bytes("provider-key-" + i), part));
        }
    }

    @AfterEach
    void close() {
        db.close();
    }

    @Test
    void rotationMovesEveryRowAndOnlyTheNewKeyOpensThem() throws SQLException {
        VaultRotation.Result r = VaultRotation.rotate(db, ring, 7, TABLES, (t, ids) -> { });
        // 25 secrets in batches of 7 (4), 5 split keys (1), the token pepper (1)
        assertEquals(new VaultRotation.Result(SECRET_ROWS + SPLIT_ROWS + 1, 4 + 1 + 1, 0, 0, 0), r);

        for (Map.Entry<String, String> e : secrets.entrySet()) {
            Row row = row(SECRETS, e.getKey());
            assertEquals(newOnly.currentKeyId(), row.sealed.keyId());
            assertEquals(e.getValue(), text(newOnly.open(row.actorId, e.getKey(), row.sealed)));
            assertThrows(VaultException.class, () -> oldOnly.open(row.actorId, e.getKey(), row.sealed));
        }
        for (Map.Entry<String, String> e : splits.entrySet()) {
            Row row = row(SPLITS, e.getKey());
            byte[] part = clientParts.get(e.getKey());
            assertEquals(e.getValue(), text(newOnly.openSplit("act_0", e.getKey(), row.sealed, part)));
            assertThrows(VaultException.class, () -> oldOnly.openSplit("act_0", e.getKey(), row.sealed, part));
        }
        // The database now belongs to the new key: it alone starts, the old key alone is refused,
        // and tokens made before the rotation still hash to what was stored.
        assertArrayEquals(tokenHash, new TokenHasher(VaultKeys.open(db, newOnly, newKey).tokenPepper()).hash(token));
        assertThrows(IllegalStateException.class, () -> VaultKeys.open(db, oldOnly, oldKey));
    }

    @Test
    void runningAgainIsANoOp() throws SQLException {
        VaultRotation.rotate(db, ring, 10, TABLES, (t, ids) -> { });
        List<String> before = snapshot();
        List<String> meta = VaultKeysTest.metaRows(db);
        assertEquals(new VaultRotation.Result(0, 0, 0, 0, 0), VaultRotation.rotate(db, ring, 10, TABLES, (t, ids) -> { }));
        assertEquals(new VaultRotation.Result(0, 0, 0, 0, 0), VaultRotation.rotate(db, newOnly, 10, TABLES, (t, ids) -> { }),
                "the old key is no longer needed");
        assertEquals(before, snapshot());
        assertEquals(meta.subList(1, 2), VaultKeysTest.metaRows(db).subList(1, 2), "the sealed pepper is untouched");
    }

    @Test
    void aConcurrentWriteIsNeverOverwritten() throws SQLException {
        // A server still sealing with the old key rewrites a row between the batch's read and write.
        String victim = "cs_101";
        Sealed written = oldOnly.seal("act_1", victim, bytes("sk-rewritten-meanwhile"));
        AtomicInteger calls = new AtomicInteger();
        VaultRotation.Result r = VaultRotation.rotate(db, ring, 100, TABLES, (t, ids) -> {
            if (t.equals(SECRETS.name()) && calls.getAndIncrement() == 0) {
                assertTrue(ids.contains(victim));
                update(SECRETS, victim, written);
            }
        });
        assertEquals(1, r.conflicts());
        assertEquals(1, r.remaining());
        assertEquals(SECRET_ROWS + SPLIT_ROWS + 1 - 1, r.resealed());
        Row row = row(SECRETS, victim);
        assertArrayEquals(written.nonce(), row.sealed.nonce(), "the concurrent write survives");
        assertEquals("sk-rewritten-meanwhile", text(ring.open("act_1", victim, row.sealed)));

        VaultRotation.Result again = VaultRotation.rotate(db, ring, 100, TABLES, (t, ids) -> { });
        assertEquals(new VaultRotation.Result(1, 1, 0, 0, 0), again);
        assertEquals("sk-rewritten-meanwhile", text(newOnly.open("act_1", victim, row(SECRETS, victim).sealed)));
    }

    @Test
    void aCrashMidwayLeavesEveryRowReadableAndARerunFinishes() throws SQLException {
        AtomicInteger batches = new AtomicInteger();
        assertThrows(IllegalStateException.class, () -> VaultRotation.rotate(db, ring, 5, TABLES, (t, ids) -> {
            if (batches.incrementAndGet() == 3) {
                throw new IllegalStateException("killed");
            }
        }));
        int moved = 0;
        for (Map.Entry<String, String> e : secrets.entrySet()) {
            Row row = row(SECRETS, e.getKey());
            moved += row.sealed.keyId().equals(newOnly.currentKeyId()) ? 1 : 0;
            assertEquals(e.getValue(), text(ring.open(row.actorId, e.getKey(), row.sealed)), "readable by the ring meanwhile");
        }
        assertEquals(10, moved, "two batches of five were committed");
        // The new key was recorded first: the old key alone would no longer start on this database.
        assertThrows(IllegalStateException.class, () -> VaultKeys.open(db, oldOnly, oldKey));

        VaultRotation.Result r = VaultRotation.rotate(db, ring, 5, TABLES, (t, ids) -> { });
        assertEquals(SECRET_ROWS - 10 + SPLIT_ROWS + 1, r.resealed());
        assertEquals(0, r.remaining());
    }

    @Test
    void anUnreadableRowIsReportedAndLeftWhileTheRestMove() throws SQLException {
        Row row = row(SECRETS, "cs_110");
        byte[] tampered = row.sealed.ciphertext().clone();
        tampered[0] ^= 1;
        update(SECRETS, "cs_110", new Sealed(row.sealed.keyId(), row.sealed.nonce(), tampered));
        VaultRotation.Result r = VaultRotation.rotate(db, ring, 8, TABLES, (t, ids) -> { });
        assertEquals(1, r.unreadable());
        assertEquals(1, r.remaining());
        assertEquals(SECRET_ROWS + SPLIT_ROWS + 1 - 1, r.resealed());
        assertEquals(oldOnly.currentKeyId(), row(SECRETS, "cs_110").sealed.keyId());
    }

    @Test
    void aRingWithoutTheDatabasesKeyIsRefusedAndNothingMoves() throws SQLException {
        List<String> before = snapshot();
        List<String> meta = VaultKeysTest.metaRows(db);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> VaultRotation.rotate(db, newOnly, 10, TABLES, (t, ids) -> { }));
        assertTrue(e.getMessage().startsWith("the master key does not match this database"), e.getMessage());
        assertEquals(before, snapshot());
        assertEquals(meta, VaultKeysTest.metaRows(db));
    }

    @Test
    void theProductionTableListSkipsTablesThisDatabaseDoesNotHave() {
        // Without the test tables: only vault_meta's pepper, plus whatever sealed tables exist (empty here).
        VaultRotation.Result r = VaultRotation.rotate(db, ring, 10);
        assertEquals(new VaultRotation.Result(1, 1, 0, 0, 0), r);
    }

    @Test
    void batchSizeMustBePositive() {
        assertThrows(IllegalArgumentException.class, () -> VaultRotation.rotate(db, ring, 0));
    }

    // --- helpers ---

    private record Row(String actorId, Sealed sealed) {
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    private void insert(VaultRotation.SealedTable t, String id, String actorId, Sealed s) throws SQLException {
        try (Connection c = db.dataSource().getConnection(); PreparedStatement ps = c.prepareStatement(
                "INSERT INTO " + t.name() + " (id, actor_id, key_id, nonce, ciphertext) VALUES (?, ?, ?, ?, ?)")) {
            ps.setString(1, id);
            ps.setString(2, actorId);
            ps.setString(3, s.keyId());
            ps.setBytes(4, s.nonce());
            ps.setBytes(5, s.ciphertext());
            ps.executeUpdate();
        }
    }

    private void update(VaultRotation.SealedTable t, String id, Sealed s) throws SQLException {
        try (Connection c = db.dataSource().getConnection(); PreparedStatement ps = c.prepareStatement(
                "UPDATE " + t.name() + " SET key_id = ?, nonce = ?, ciphertext = ? WHERE id = ?")) {
            ps.setString(1, s.keyId());
            ps.setBytes(2, s.nonce());
            ps.setBytes(3, s.ciphertext());
            ps.setString(4, id);
            assertEquals(1, ps.executeUpdate());
        }
    }

    private Row row(VaultRotation.SealedTable t, String id) throws SQLException {
        try (Connection c = db.dataSource().getConnection(); PreparedStatement ps = c.prepareStatement(
                "SELECT actor_id, key_id, nonce, ciphertext FROM " + t.name() + " WHERE id = ?")) {
            ps.setString(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                assertTrue(rs.next(), id);
                return new Row(rs.getString(1), new Sealed(rs.getString(2), rs.getBytes(3), rs.getBytes(4)));
            }
        }
    }

    /** Every sealed column of both test tables. */
    private List<String> snapshot() throws SQLException {
        List<String> out = new ArrayList<>();
        for (VaultRotation.SealedTable t : List.of(SECRETS, SPLITS)) {
            try (Connection c = db.dataSource().getConnection(); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT id, actor_id, key_id, nonce, ciphertext FROM " + t.name() + " ORDER BY id")) {
                while (rs.next()) {
                    out.add(rs.getString(1) + "|" + rs.getString(2) + "|" + rs.getString(3) + "|"
                            + HexFormat.of().formatHex(rs.getBytes(4)) + "|" + HexFormat.of().formatHex(rs.getBytes(5)));
                }
            }
        }
        return out;
    }
}
