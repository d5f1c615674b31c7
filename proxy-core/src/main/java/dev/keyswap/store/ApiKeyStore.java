package dev.keyswap.store;

import static dev.keyswap.store.Jdbc.getInstant;
import static dev.keyswap.store.Jdbc.getInt;
import static dev.keyswap.store.Jdbc.setInstant;
import static dev.keyswap.store.Jdbc.setInt;

import dev.keyswap.auth.ApiKey;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import javax.sql.DataSource;

/** Blocking repository for Keyswap tokens; call it on the JDBC executor. */
public final class ApiKeyStore {
    private static final String ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    private static final int ID_CHARS = 16;
    private static final SecureRandom RANDOM = new SecureRandom();

    private static final String COLUMNS = "id, actor_id, name, scopes, providers, allow_server_keys, rate_limit_rpm,"
            + " expires_at, revoked_at, created_at, last_used_at, connections";

    private final DataSource ds;

    public ApiKeyStore(Database db) {
        this.ds = db.dataSource();
    }

    /** Inserts the key with its keyed token hash. */
    public void insert(ApiKey key, byte[] tokenHash) {
        Objects.requireNonNull(tokenHash, "tokenHash");
        if (key.name() != null) { // a key may have no name; one it has is shown by keys list
            DisplayNames.check("name", key.name());
        }
        String sql = "INSERT INTO api_keys (" + COLUMNS + ", token_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, key.id());
            ps.setString(2, key.actorId());
            ps.setString(3, key.name());
            ps.setString(4, joinNames(key.scopes(), "scope"));
            ps.setString(5, joinNames(key.providers(), "provider"));
            ps.setInt(6, key.allowServerKeys() ? 1 : 0);
            setInt(ps, 7, key.rateLimitRpm());
            setInstant(ps, 8, key.expiresAt());
            setInstant(ps, 9, key.revokedAt());
            setInstant(ps, 10, Objects.requireNonNull(key.createdAt(), "createdAt"));
            setInstant(ps, 11, key.lastUsedAt());
            ps.setString(12, joinNames(key.connections(), "connection"));
            ps.setBytes(13, tokenHash);
            ps.executeUpdate();
        } catch (SQLException e) {
            throw new StoreException("inserting API key " + key.id() + " failed", e);
        }
    }

    public Optional<ApiKey> findByTokenHash(byte[] tokenHash) {
        return queryOne("SELECT " + COLUMNS + " FROM api_keys WHERE token_hash = ?", ps -> ps.setBytes(1, tokenHash),
                "looking up an API key by token hash");
    }

    public Optional<ApiKey> get(String id) {
        return queryOne("SELECT " + COLUMNS + " FROM api_keys WHERE id = ?", ps -> ps.setString(1, id),
                "loading API key " + id);
    }

    /** Keys of one actor, or of all actors when actorId is null; oldest first. */
    public List<ApiKey> list(String actorId) {
        String sql = "SELECT " + COLUMNS + " FROM api_keys"
                + (actorId == null ? "" : " WHERE actor_id = ?")
                + " ORDER BY created_at, id";
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            if (actorId != null) {
                ps.setString(1, actorId);
            }
            List<ApiKey> keys = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    keys.add(map(rs));
                }
            }
            return keys;
        } catch (SQLException e) {
            throw new StoreException("listing API keys failed", e);
        }
    }

    /** @return false when no such key, or already revoked */
    public boolean revoke(String id, Instant at) {
        // "revoked_at IS NULL" keeps the first revocation time: revoking twice is not an edit.
        String sql = "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL";
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setLong(1, at.toEpochMilli());
            ps.setString(2, id);
            return ps.executeUpdate() == 1;
        } catch (SQLException e) {
            throw new StoreException("revoking API key " + id + " failed", e);
        }
    }

    public void touchLastUsed(Map<String, Instant> lastUsedById) {
        if (lastUsedById.isEmpty()) {
            return;
        }
        // Never move last_used_at backwards: several proxies may flush their batches out of order.
        String sql = "UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)";
        Jdbc.inTransaction(ds, "updating last-used times of " + lastUsedById.size() + " API keys", c -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                for (Map.Entry<String, Instant> e : lastUsedById.entrySet()) {
                    long millis = e.getValue().toEpochMilli();
                    ps.setLong(1, millis);
                    ps.setString(2, e.getKey());
                    ps.setLong(3, millis);
                    ps.addBatch();
                }
                ps.executeBatch();
            }
        });
    }

    /** A new key id: "key_" + 16 base62 characters. */
    public static String newId() {
        char[] id = new char[ID_CHARS];
        for (int i = 0; i < id.length; i++) {
            id[i] = ALPHABET.charAt(RANDOM.nextInt(ALPHABET.length())); // nextInt(bound) is unbiased
        }
        return "key_" + new String(id);
    }

    @FunctionalInterface
    private interface Binder {
        void bind(PreparedStatement ps) throws SQLException;
    }

    private Optional<ApiKey> queryOne(String sql, Binder binder, String what) {
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            binder.bind(ps);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(map(rs)) : Optional.empty();
            }
        } catch (SQLException e) {
            throw new StoreException(what + " failed", e);
        }
    }

    private static ApiKey map(ResultSet rs) throws SQLException {
        return new ApiKey(
                rs.getString("id"),
                rs.getString("actor_id"),
                rs.getString("name"),
                splitNames(rs.getString("scopes")),
                splitNames(rs.getString("providers")),
                rs.getInt("allow_server_keys") != 0,
                getInt(rs, "rate_limit_rpm"),
                getInstant(rs, "expires_at"),
                getInstant(rs, "revoked_at"),
                getInstant(rs, "created_at"),
                getInstant(rs, "last_used_at"),
                splitNames(rs.getString("connections")));
    }

    /** Sorted so equal sets store equal strings; a comma inside a name would split it on the way back. */
    static String joinNames(Set<String> names, String kind) {
        for (String name : names) {
            if (name.isEmpty() || name.indexOf(',') >= 0) {
                throw new IllegalArgumentException(kind + " names must be non-empty and contain no comma: '" + name + "'");
            }
        }
        return String.join(",", new TreeSet<>(names));
    }

    static Set<String> splitNames(String joined) {
        if (joined == null || joined.isEmpty()) {
            return Set.of();
        }
        return Arrays.stream(joined.split(",")).collect(Collectors.toUnmodifiableSet());
    }
}
