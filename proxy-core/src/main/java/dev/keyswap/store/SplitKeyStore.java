package dev.keyswap.store;

import dev.keyswap.vault.Vault;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** Blocking repository for BYOK split keys; call it on the JDBC executor. */
public final class SplitKeyStore {
    /** A split key's record; never its parts. */
    public record SplitKey(String id, String actorId, String provider, Instant createdAt, Instant revokedAt) {
    }

    /** What creation returns, once: the client part is not stored anywhere. */
    public record Created(SplitKey key, String clientPart) {
    }

    public SplitKeyStore(Database db, Vault vault) {
        throw new UnsupportedOperationException("TODO helper H2");
    }

    /** Seals the provider key with a fresh random client part (32 bytes, base64url). */
    public Created create(String actorId, String provider, byte[] providerKey) {
        throw new UnsupportedOperationException("TODO helper H2");
    }

    public Optional<SplitKey> get(String id) {
        throw new UnsupportedOperationException("TODO helper H2");
    }

    /**
     * The provider key, for a live split key and the right client part.
     * @throws dev.keyswap.vault.VaultException for a wrong client part or a tampered row
     */
    public Optional<String> open(String id, String clientPart) {
        throw new UnsupportedOperationException("TODO helper H2");
    }

    public List<SplitKey> list(String actorId) {
        throw new UnsupportedOperationException("TODO helper H2");
    }

    public boolean revoke(String id, String actorId) {
        throw new UnsupportedOperationException("TODO helper H2");
    }

    /** "pk_" + 16 base62 characters. */
    public static String newId() {
        throw new UnsupportedOperationException("TODO helper H2");
    }
}
