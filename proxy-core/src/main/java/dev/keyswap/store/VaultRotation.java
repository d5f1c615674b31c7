package dev.keyswap.store;

import dev.keyswap.vault.Sealed;
import dev.keyswap.vault.Vault;
import dev.keyswap.vault.VaultException;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;

/**
 * {@code keyswap vault rotate}: re-seals every sealed row that is not under the vault's current
 * master key, a batch per transaction, while Keyswap keeps serving. Rows are read outside any
 * transaction and re-sealed outside any lock; the write transaction is short and each update is
 * optimistic (it matches the row's old key id and nonce), so a secret a running server changed
 * meanwhile is never overwritten with its old value. Idempotent: after a crash, run it again.
 */
public final class VaultRotation {
    /**
     * Every table holding sealed rows. Convention: columns (id TEXT primary key, actor_id, key_id,
     * nonce, ciphertext), the vault's associated data being (actor_id, id, key_id). A table the
     * database does not have (yet) is skipped. Adding a sealed table is one line here.
     */
    static final List<SealedTable> TABLES = List.of(
            new SealedTable("connection_secrets", "id", "actor_id"),
            new SealedTable("split_keys", "id", "actor_id"), // outer layer only: no client part needed
            new SealedTable("vault_meta", "name", null));

    /**
     * @param actorColumn null when every row belongs to the vault's own "system" actor
     */
    record SealedTable(String name, String idColumn, String actorColumn) {
    }

    /**
     * @param resealed   rows moved to the current key
     * @param batches    write transactions that moved at least one row
     * @param conflicts  rows changed by someone else between read and write, left as they were
     * @param unreadable rows the ring cannot open (tampered, or under a key not configured), left as they were
     * @param remaining  rows still not under the current key when the run ended
     */
    public record Result(int resealed, int batches, int conflicts, int unreadable, int remaining) {
    }

    /** Called between a batch's read and its write; tests use it to act as a concurrent writer. */
    @FunctionalInterface
    interface BeforeWrite {
        void run(String table, List<String> ids) throws SQLException;
    }

    private record Row(String id, String actorId, Sealed sealed) {
    }

    private record Update(Row row, Sealed resealed) {
    }

    private VaultRotation() {
    }

    /**
     * @throws IllegalStateException when the database belongs to a master key the vault does not hold
     */
    public static Result rotate(Database db, Vault vault, int batchSize) {
        return rotate(db, vault, batchSize, TABLES, (table, ids) -> { });
    }

    static Result rotate(Database db, Vault vault, int batchSize, List<SealedTable> tables, BeforeWrite hook) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("the batch size must be at least 1");
        }
        DataSource ds = db.dataSource();
        String current = vault.currentKeyId();
        try {
            if (VaultKeys.requireHeldKey(ds, vault) == null) {
                // Recording the new key here would leave the token pepper unrecorded: VaultKeys.open comes first.
                throw new IllegalStateException("the vault has no record of its master key yet; open it (VaultKeys.open) before rotating");
            }
            // Recorded before the first row moves, not after the last: from the moment any row may
            // be under the new key, a start with the old key alone must be refused.
            Jdbc.inTransaction(ds, "recording the new master key", c -> VaultKeys.recordCurrentKey(c, current));
            int resealed = 0;
            int batches = 0;
            int conflicts = 0;
            int unreadable = 0;
            int remaining = 0;
            for (SealedTable table : tables) {
                if (!exists(ds, table.name())) {
                    continue;
                }
                String after = ""; // keyset pagination: every row is visited once per run
                while (true) {
                    List<Row> rows = read(ds, table, current, after, batchSize);
                    if (rows.isEmpty()) {
                        break;
                    }
                    after = rows.get(rows.size() - 1).id();
                    List<Update> updates = new ArrayList<>(rows.size());
                    for (Row r : rows) {
                        try {
                            updates.add(new Update(r, vault.reseal(r.actorId(), r.id(), r.sealed())));
                        } catch (VaultException e) {
                            unreadable++;
                        }
                    }
                    if (updates.isEmpty()) {
                        continue;
                    }
                    hook.run(table.name(), updates.stream().map(u -> u.row().id()).toList());
                    int written = write(ds, table, updates);
                    resealed += written;
                    conflicts += updates.size() - written;
                    batches += written > 0 ? 1 : 0;
                }
                remaining += countNotUnder(ds, table, current);
            }
            return new Result(resealed, batches, conflicts, unreadable, remaining);
        } catch (SQLException e) {
            throw new StoreException("master key rotation failed (safe to run again)", e);
        }
    }

    private static List<Row> read(DataSource ds, SealedTable t, String current, String after, int limit) throws SQLException {
        String actor = t.actorColumn() == null ? "'" + VaultKeys.SYSTEM_ACTOR + "'" : t.actorColumn();
        String sql = "SELECT " + t.idColumn() + ", " + actor + ", key_id, nonce, ciphertext FROM " + t.name()
                + " WHERE ciphertext IS NOT NULL AND (key_id IS NULL OR key_id <> ?) AND " + t.idColumn() + " > ?"
                + " ORDER BY " + t.idColumn() + " LIMIT ?";
        List<Row> rows = new ArrayList<>();
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, current);
            ps.setString(2, after);
            ps.setInt(3, limit);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    rows.add(new Row(rs.getString(1), rs.getString(2), new Sealed(rs.getString(3), rs.getBytes(4), rs.getBytes(5))));
                }
            }
        }
        return rows;
    }

    /** @return rows actually updated: one whose key id or nonce changed since the read is left alone */
    private static int write(DataSource ds, SealedTable t, List<Update> updates) {
        String sql = "UPDATE " + t.name() + " SET key_id = ?, nonce = ?, ciphertext = ? WHERE " + t.idColumn()
                + " = ? AND key_id = ? AND nonce = ?";
        int[] written = {0};
        Jdbc.inTransaction(ds, "re-sealing a batch of " + t.name(), c -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                for (Update u : updates) {
                    ps.setString(1, u.resealed().keyId());
                    ps.setBytes(2, u.resealed().nonce());
                    ps.setBytes(3, u.resealed().ciphertext());
                    ps.setString(4, u.row().id());
                    ps.setString(5, u.row().sealed().keyId());
                    ps.setBytes(6, u.row().sealed().nonce());
                    written[0] += ps.executeUpdate();
                }
            }
        });
        return written[0];
    }

    private static int countNotUnder(DataSource ds, SealedTable t, String current) throws SQLException {
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM " + t.name()
                     + " WHERE ciphertext IS NOT NULL AND (key_id IS NULL OR key_id <> ?)")) {
            ps.setString(1, current);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    private static boolean exists(DataSource ds, String table) throws SQLException {
        try (Connection c = ds.getConnection()) {
            DatabaseMetaData meta = c.getMetaData();
            for (String name : new String[] {table, table.toUpperCase(java.util.Locale.ROOT)}) {
                try (ResultSet rs = meta.getTables(null, null, name, new String[] {"TABLE"})) {
                    if (rs.next()) {
                        return true;
                    }
                }
            }
            return false;
        }
    }
}
