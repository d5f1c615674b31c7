package dev.keyswap.store;

import dev.keyswap.auth.TokenHasher;
import dev.keyswap.vault.MasterKey;
import dev.keyswap.vault.Sealed;
import dev.keyswap.vault.Vault;
import dev.keyswap.vault.VaultException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Arrays;
import javax.sql.DataSource;

/**
 * The vault's records in {@code vault_meta}: which master key this database belongs to, and the
 * token pepper. Opened once at start (serve and the CLI): a fresh database records the current
 * key and seals the pepper; a later start with a ring that does not hold the recorded key is
 * refused before anything is written, so a mistyped key cannot strand secrets or tokens.
 */
public final class VaultKeys {
    /** The actor the vault's own sealed rows belong to. */
    static final String SYSTEM_ACTOR = "system";
    static final String CURRENT_KEY = "current_key";
    static final String TOKEN_PEPPER = "token_pepper";

    private final byte[] tokenPepper;

    private VaultKeys(byte[] tokenPepper) {
        this.tokenPepper = tokenPepper;
    }

    /**
     * @param current the vault's current (first) master key: a fresh database's pepper is derived
     *                from it exactly as tokens always were, so a database from before this table
     *                keeps its tokens
     * @throws IllegalStateException when the database belongs to a master key the vault does not hold
     */
    public static VaultKeys open(Database db, Vault vault, MasterKey current) {
        if (!Vault.keyId(current).equals(vault.currentKeyId())) {
            throw new IllegalArgumentException("the current master key must be the vault's first key");
        }
        DataSource ds = db.dataSource();
        try {
            if (storedKeyId(ds) == null) {
                if (vault.keyIds().size() > 1 && hasTokens(ds)) {
                    // Tokens from before this table were hashed with a pepper derived from the key
                    // they were created under, and with several keys configured there is no telling which.
                    throw new IllegalStateException("this database has tokens but no record of its master key yet; start Keyswap once "
                            + "with the key it was created with and without vault.previous_master_keys, then rotate");
                }
                initialise(ds, vault, current);
            }
            requireHeldKey(ds, vault);
            Sealed sealed = readSealed(ds, TOKEN_PEPPER);
            if (sealed == null) {
                throw new IllegalStateException("vault_meta has no token_pepper row; the database is damaged (restore it from a backup)");
            }
            try {
                return new VaultKeys(vault.open(SYSTEM_ACTOR, TOKEN_PEPPER, sealed));
            } catch (VaultException e) {
                throw new IllegalStateException("the token pepper cannot be opened: " + e.getMessage());
            }
        } catch (SQLException e) {
            throw new StoreException("reading the vault's records failed", e);
        }
    }

    /** A copy of the 32-byte pepper tokens are hashed with; see {@link TokenHasher#TokenHasher(byte[])}. */
    public byte[] tokenPepper() {
        return tokenPepper.clone();
    }

    /**
     * Refuses a vault that holds none of the key the database belongs to, naming both key checks
     * (which identify the keys without revealing them).
     *
     * @return the recorded key id, or null for a database that has not recorded one yet
     */
    static String requireHeldKey(DataSource ds, Vault vault) throws SQLException {
        String stored = storedKeyId(ds);
        if (stored != null && !vault.keyIds().contains(stored)) {
            throw new IllegalStateException("the master key does not match this database (key check " + vault.currentKeyId()
                    + " is not " + stored + "); set the right KEYSWAP_MASTER_KEY / vault.master_key / key file");
        }
        return stored;
    }

    /** Records (or moves) the key the database belongs to; part of the caller's transaction. */
    static void recordCurrentKey(Connection c, String keyId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO vault_meta (name, key_id, nonce, ciphertext, updated_at) "
                + "VALUES (?, ?, NULL, NULL, ?) ON CONFLICT (name) DO UPDATE SET key_id = excluded.key_id, updated_at = excluded.updated_at")) {
            ps.setString(1, CURRENT_KEY);
            ps.setString(2, keyId);
            ps.setLong(3, System.currentTimeMillis());
            ps.executeUpdate();
        }
    }

    /**
     * Both rows in one transaction, each only if absent: when two processes start on a fresh
     * database together, the first one's rows win and the other reads them back.
     */
    private static void initialise(DataSource ds, Vault vault, MasterKey current) {
        byte[] pepper = TokenHasher.pepperFor(current);
        Sealed sealed;
        try {
            sealed = vault.seal(SYSTEM_ACTOR, TOKEN_PEPPER, pepper);
        } finally {
            Arrays.fill(pepper, (byte) 0);
        }
        long now = System.currentTimeMillis();
        Jdbc.inTransaction(ds, "recording the vault's master key", c -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO vault_meta (name, key_id, nonce, ciphertext, updated_at) "
                    + "VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING")) {
                ps.setString(1, CURRENT_KEY);
                ps.setString(2, vault.currentKeyId());
                ps.setBytes(3, null);
                ps.setBytes(4, null);
                ps.setLong(5, now);
                ps.executeUpdate();
                ps.setString(1, TOKEN_PEPPER);
                ps.setString(2, sealed.keyId());
                ps.setBytes(3, sealed.nonce());
                ps.setBytes(4, sealed.ciphertext());
                ps.executeUpdate();
            }
        });
    }

    private static boolean hasTokens(DataSource ds) throws SQLException {
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT 1 FROM api_keys LIMIT 1");
             ResultSet rs = ps.executeQuery()) {
            return rs.next();
        }
    }

    private static String storedKeyId(DataSource ds) throws SQLException {
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT key_id FROM vault_meta WHERE name = ?")) {
            ps.setString(1, CURRENT_KEY);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    private static Sealed readSealed(DataSource ds, String name) throws SQLException {
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT key_id, nonce, ciphertext FROM vault_meta WHERE name = ?")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next() || rs.getBytes(3) == null) {
                    return null;
                }
                return new Sealed(rs.getString(1), rs.getBytes(2), rs.getBytes(3));
            }
        }
    }

    @Override
    public String toString() {
        return "VaultKeys[****]";
    }
}
