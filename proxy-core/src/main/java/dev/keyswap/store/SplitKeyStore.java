package dev.keyswap.store;

import static dev.keyswap.store.Jdbc.getInstant;

import dev.keyswap.connect.Credential;
import dev.keyswap.vault.Sealed;
import dev.keyswap.vault.Vault;
import dev.keyswap.vault.VaultException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;
import javax.sql.DataSource;

/** Blocking repository for BYOK split keys; call it on the JDBC executor. */
public final class SplitKeyStore {
    /** A split key's record; never its parts. */
    public record SplitKey(String id, String actorId, String provider, Instant createdAt, Instant revokedAt) {
    }

    /** What creation returns, once: the client part is not stored anywhere. */
    public record Created(SplitKey key, String clientPart) {
    }

    static final int CLIENT_PART_BYTES = 32;
    /** 32 bytes in base64url without padding are exactly 43 characters. */
    private static final Pattern CLIENT_PART = Pattern.compile("[A-Za-z0-9_-]{43}");
    private static final Pattern PROVIDER = Pattern.compile("[A-Za-z0-9._-]+");
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String COLUMNS = "id, actor_id, provider, created_at, revoked_at";

    private final DataSource ds;
    private final Vault vault;

    public SplitKeyStore(Database db, Vault vault) {
        this.ds = db.dataSource();
        this.vault = Objects.requireNonNull(vault, "vault");
    }

    /** Seals the provider key with a fresh random client part (32 bytes, base64url). */
    public Created create(String actorId, String provider, byte[] providerKey) {
        if (actorId == null || actorId.isBlank()) {
            throw new IllegalArgumentException("actor_id: required");
        }
        if (provider == null || !PROVIDER.matcher(provider).matches()) {
            throw new IllegalArgumentException("provider: required (letters, digits, '.', '_', '-')");
        }
        if (providerKey == null || providerKey.length == 0) {
            throw new IllegalArgumentException("provider key: may not be empty");
        }
        for (byte b : providerKey) {
            // It goes into the provider's header slot as it is: a control byte would split the
            // head, a non-ASCII one could not be written, and every request would fail.
            if (!Credential.sendableAsIs(b)) {
                throw new IllegalArgumentException("provider key: may hold only printable ASCII characters"
                        + " (a line break, a byte order mark or a character pasted from a document?)");
            }
        }
        String id = newId();
        Instant now = Instant.ofEpochMilli(System.currentTimeMillis()); // millis: what the column holds
        byte[] clientPart = new byte[CLIENT_PART_BYTES];
        RANDOM.nextBytes(clientPart);
        try {
            Sealed sealed = vault.sealSplit(actorId, id, providerKey, clientPart);
            String sql = "INSERT INTO split_keys (id, actor_id, provider, key_id, nonce, ciphertext, created_at)"
                    + " VALUES (?, ?, ?, ?, ?, ?, ?)";
            try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
                ps.setString(1, id);
                ps.setString(2, actorId);
                ps.setString(3, provider);
                ps.setString(4, sealed.keyId());
                ps.setBytes(5, sealed.nonce());
                ps.setBytes(6, sealed.ciphertext());
                ps.setLong(7, now.toEpochMilli());
                ps.executeUpdate();
            } catch (SQLException e) {
                throw new StoreException("creating split key " + id + " failed", e);
            }
            return new Created(new SplitKey(id, actorId, provider, now, null),
                    Base64.getUrlEncoder().withoutPadding().encodeToString(clientPart));
        } finally {
            Arrays.fill(clientPart, (byte) 0);
        }
    }

    public Optional<SplitKey> get(String id) {
        return query("SELECT " + COLUMNS + " FROM split_keys WHERE id = ?", ps -> ps.setString(1, id),
                "loading split key " + id).stream().findFirst();
    }

    /**
     * The provider key, for a live split key and the right client part.
     * @throws dev.keyswap.vault.VaultException for a wrong client part or a tampered row
     */
    public Optional<String> open(String id, String clientPart) {
        String sql = "SELECT actor_id, key_id, nonce, ciphertext, revoked_at FROM split_keys WHERE id = ?";
        String actorId;
        Sealed sealed;
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next() || getInstant(rs, "revoked_at") != null) {
                    return Optional.empty();
                }
                actorId = rs.getString("actor_id");
                sealed = new Sealed(rs.getString("key_id"), rs.getBytes("nonce"), rs.getBytes("ciphertext"));
            }
        } catch (SQLException e) {
            throw new StoreException("loading split key " + id + " failed", e);
        }
        // A malformed part is as wrong as a mismatched one: the same exception, so callers answer
        // one "bad split key" error and learn nothing about which check failed.
        if (clientPart == null || !CLIENT_PART.matcher(clientPart).matches()) {
            throw new VaultException("wrong client part for split key " + id);
        }
        byte[] part = Base64.getUrlDecoder().decode(clientPart);
        try {
            byte[] key = vault.openSplit(actorId, id, sealed, part);
            try {
                return Optional.of(new String(key, StandardCharsets.UTF_8));
            } finally {
                Arrays.fill(key, (byte) 0);
            }
        } finally {
            Arrays.fill(part, (byte) 0);
        }
    }

    /** Split keys of one actor, or of all actors when actorId is null; oldest first. */
    public List<SplitKey> list(String actorId) {
        String sql = "SELECT " + COLUMNS + " FROM split_keys"
                + (actorId == null ? "" : " WHERE actor_id = ?")
                + " ORDER BY created_at, id";
        return query(sql, ps -> {
            if (actorId != null) {
                ps.setString(1, actorId);
            }
        }, "listing split keys");
    }

    /** @return false when no such live key for that actor (null actor: any), or already revoked */
    public boolean revoke(String id, String actorId) {
        // "revoked_at IS NULL" keeps the first revocation time: revoking twice is not an edit.
        String sql = "UPDATE split_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"
                + (actorId == null ? "" : " AND actor_id = ?");
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setLong(1, System.currentTimeMillis());
            ps.setString(2, id);
            if (actorId != null) {
                ps.setString(3, actorId);
            }
            return ps.executeUpdate() == 1;
        } catch (SQLException e) {
            throw new StoreException("revoking split key " + id + " failed", e);
        }
    }

    /** "pk_" + 16 base62 characters. */
    public static String newId() {
        return Ids.random("pk_", 16);
    }

    @FunctionalInterface
    private interface Binder {
        void bind(PreparedStatement ps) throws SQLException;
    }

    private List<SplitKey> query(String sql, Binder binder, String what) {
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            binder.bind(ps);
            List<SplitKey> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new SplitKey(rs.getString("id"), rs.getString("actor_id"), rs.getString("provider"),
                            getInstant(rs, "created_at"), getInstant(rs, "revoked_at")));
                }
            }
            return out;
        } catch (SQLException e) {
            throw new StoreException(what + " failed", e);
        }
    }
}
