package dev.keyswap.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keyswap.auth.TokenFormat;
import dev.keyswap.auth.TokenHasher;
import dev.keyswap.vault.MasterKey;
import dev.keyswap.vault.Vault;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VaultKeysTest {
    private static final SecureRandom RANDOM = new SecureRandom();

    @TempDir
    Path dir;

    static MasterKey randomKey() {
        byte[] raw = new byte[32];
        RANDOM.nextBytes(raw);
        return MasterKey.of(raw);
    }

    private String url() {
        return "jdbc:sqlite:" + dir.resolve("keyswap.db");
    }

    private final MasterKey key = randomKey();
    private final Vault vault = new Vault(List.of(key));

    @Test
    void freshDatabaseRecordsTheCurrentKeyAndASealedPepper() throws SQLException {
        try (Database db = Database.open(url())) {
            byte[] pepper = VaultKeys.open(db, vault, key).tokenPepper();
            assertArrayEquals(TokenHasher.pepperFor(key), pepper, "the pepper tokens were always hashed with");
            List<String> rows = metaRows(db);
            assertEquals(2, rows.size(), rows.toString());
            assertEquals("current_key|" + vault.currentKeyId() + "|null|null", rows.get(0));
            String pepperRow = rows.get(1);
            assertFalse(pepperRow.contains(HexFormat.of().formatHex(pepper)), "the pepper is stored in plain text");
            assertEquals("token_pepper|" + vault.currentKeyId(), pepperRow.substring(0, pepperRow.indexOf('|', 13)));
        }
    }

    @Test
    void restartWithTheSameKeyYieldsTheSamePepperAndWritesNothing() throws SQLException {
        byte[] first;
        List<String> before;
        try (Database db = Database.open(url())) {
            first = VaultKeys.open(db, vault, key).tokenPepper();
            before = metaRows(db);
        }
        try (Database db = Database.open(url())) {
            assertArrayEquals(first, VaultKeys.open(db, new Vault(List.of(key)), key).tokenPepper());
            assertEquals(before, metaRows(db));
        }
    }

    @Test
    void wrongKeyIsRefusedWithAClearMessageAndChangesNothing() throws SQLException {
        List<String> before;
        try (Database db = Database.open(url())) {
            VaultKeys.open(db, vault, key);
            before = metaRows(db);
        }
        MasterKey wrong = randomKey();
        Vault wrongVault = new Vault(List.of(wrong));
        try (Database db = Database.open(url())) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> VaultKeys.open(db, wrongVault, wrong));
            assertEquals("the master key does not match this database (key check " + Vault.keyId(wrong) + " is not "
                    + Vault.keyId(key) + "); set the right KEYSWAP_MASTER_KEY / vault.master_key / key file", e.getMessage());
            assertEquals(before, metaRows(db), "a refused start must not touch the vault's records");
        }
    }

    @Test
    void theRecordedKeyAsAPreviousKeyIsAccepted() {
        byte[] pepper;
        try (Database db = Database.open(url())) {
            pepper = VaultKeys.open(db, vault, key).tokenPepper();
        }
        MasterKey next = randomKey();
        try (Database db = Database.open(url())) {
            // Mid-rotation: the new key seals, the old one still opens; the pepper is the old one's.
            assertArrayEquals(pepper, VaultKeys.open(db, new Vault(List.of(next, key)), next).tokenPepper());
        }
    }

    @Test
    void tokenHasherFromTheStoredPepperMatchesTheMasterKeyHasher() {
        try (Database db = Database.open(url())) {
            TokenHasher stored = new TokenHasher(VaultKeys.open(db, vault, key).tokenPepper());
            TokenHasher legacy = new TokenHasher(key);
            for (int i = 0; i < 5; i++) {
                String token = TokenFormat.newToken();
                assertArrayEquals(legacy.hash(token), stored.hash(token));
            }
        }
    }

    @Test
    void tokensOfADatabaseFromBeforeVaultMetaKeepWorking() throws SQLException {
        String token = TokenFormat.newToken();
        byte[] hashBefore = new TokenHasher(key).hash(token); // what an older Keyswap stored
        try (Database db = Database.open(url())) {
            assertNull(readKeyId(db));
            TokenHasher now = new TokenHasher(VaultKeys.open(db, vault, key).tokenPepper());
            assertArrayEquals(hashBefore, now.hash(token));
        }
    }

    @Test
    void theCurrentKeyMustBeTheVaultsFirst() {
        try (Database db = Database.open(url())) {
            assertThrows(IllegalArgumentException.class, () -> VaultKeys.open(db, vault, randomKey()));
        }
    }

    @Test
    void pepperCopiesAreIndependentAndToStringIsMasked() {
        try (Database db = Database.open(url())) {
            VaultKeys keys = VaultKeys.open(db, vault, key);
            byte[] a = keys.tokenPepper();
            Arrays.fill(a, (byte) 0);
            assertFalse(Arrays.equals(a, keys.tokenPepper()));
            assertEquals("VaultKeys[****]", keys.toString());
        }
    }

    @Test
    void aDatabaseWithTokensButNoRecordIsRefusedWhileSeveralKeysAreConfigured() throws SQLException {
        try (Database db = Database.open(url())) {
            // Raw SQL, as an older Keyswap wrote it: the ApiKey record grows with the schema.
            try (Connection c = db.dataSource().getConnection(); PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO api_keys (id, actor_id, token_hash, scopes, created_at) VALUES ('key_old', 'act_admin', ?, 'proxy', 0)")) {
                ps.setBytes(1, new TokenHasher(key).hash(TokenFormat.newToken()));
                ps.executeUpdate();
            }
            MasterKey next = randomKey();
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> VaultKeys.open(db, new Vault(List.of(next, key)), next));
            assertTrue(e.getMessage().contains("without vault.previous_master_keys"), e.getMessage());
            assertEquals(List.of(), metaRows(db));
            VaultKeys.open(db, vault, key); // the key alone records the database as its own
            assertEquals(2, metaRows(db).size());
        }
    }

    @Test
    void rotationBeforeAnyRecordIsRefused() throws SQLException {
        try (Database db = Database.open(url())) {
            assertThrows(IllegalStateException.class, () -> VaultRotation.rotate(db, vault, 10));
            assertEquals(List.of(), metaRows(db));
        }
    }

    private static String readKeyId(Database db) throws SQLException {
        try (Connection c = db.dataSource().getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT key_id FROM vault_meta WHERE name = 'current_key'");
             ResultSet rs = ps.executeQuery()) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    /** Every column of every vault_meta row, ordered by name, blobs in hex. */
    static List<String> metaRows(Database db) throws SQLException {
        List<String> rows = new ArrayList<>();
        try (Connection c = db.dataSource().getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT name, key_id, nonce, ciphertext, updated_at FROM vault_meta ORDER BY name");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                rows.add(rs.getString(1) + "|" + rs.getString(2) + "|" + hex(rs.getBytes(3)) + "|" + hex(rs.getBytes(4))
                        + (rs.getBytes(3) == null ? "" : "|" + rs.getLong(5)));
            }
        }
        return rows;
    }

    private static String hex(byte[] b) {
        return b == null ? "null" : HexFormat.of().formatHex(b);
    }
}
