package dev.keyswap.vault;

import java.nio.file.Path;

/**
 * The 32-byte root secret every other key is derived from. Loaded from (first present wins)
 * {@code KEYSWAP_MASTER_KEY}, the config's {@code vault.master_key}, or a key file that is
 * created on first run with mode 0600. Never printed: {@link #toString()} is masked.
 */
public final class MasterKey {
    private final byte[] key;

    private MasterKey(byte[] key) {
        this.key = key.clone();
    }

    /** Wraps raw key material (exactly 32 bytes). */
    public static MasterKey of(byte[] key) {
        throw new UnsupportedOperationException("TODO helper A");
    }

    /**
     * @param fromEnv    value of KEYSWAP_MASTER_KEY, or null
     * @param fromConfig value of vault.master_key, or null/blank
     * @param keyFile    used when both are absent; created (0600, parent dirs too) when missing
     * @throws IllegalArgumentException with a message naming the source (never the value) when malformed
     */
    public static MasterKey load(String fromEnv, String fromConfig, Path keyFile) {
        throw new UnsupportedOperationException("TODO helper A");
    }

    /** HKDF-SHA256 (RFC 5869) of this key with the given salt and info label. */
    public byte[] derive(byte[] salt, String info, int length) {
        throw new UnsupportedOperationException("TODO helper A");
    }

    @Override
    public String toString() {
        return "MasterKey[****]";
    }
}
