package dev.keyswap.vault;

import java.util.List;

/**
 * Encrypts tenants' secrets at rest. Holds a ring of master keys: the first seals, all open, so
 * during a rotation rows under the old and the new key are both readable. Per-actor data keys
 * are HKDF-derived and cached; plaintext is never cached.
 */
public final class Vault {

    /** @param ring master keys, the current one first */
    public Vault(List<MasterKey> ring) {
        throw new UnsupportedOperationException("TODO helper H1");
    }

    /** The key check value of a master key: names it in stored rows without revealing it. */
    public static String keyId(MasterKey key) {
        throw new UnsupportedOperationException("TODO helper H1");
    }

    public String currentKeyId() {
        throw new UnsupportedOperationException("TODO helper H1");
    }

    public Sealed seal(String actorId, String rowId, byte[] plaintext) {
        throw new UnsupportedOperationException("TODO helper H1");
    }

    /** @throws VaultException when tampered, moved, or sealed under a key not in the ring */
    public byte[] open(String actorId, String rowId, Sealed sealed) {
        throw new UnsupportedOperationException("TODO helper H1");
    }

    /**
     * BYOK split key: sealed twice, inside under a key derived from the client part alone, outside
     * under the master-derived key (so rotation can re-seal it). The database plus the master key
     * cannot open it without the client part.
     */
    public Sealed sealSplit(String actorId, String rowId, byte[] secret, byte[] clientPart) {
        throw new UnsupportedOperationException("TODO helper H1");
    }

    /** @throws VaultException for a wrong client part or a tampered row */
    public byte[] openSplit(String actorId, String rowId, Sealed sealed, byte[] clientPart) {
        throw new UnsupportedOperationException("TODO helper H1");
    }

    /** Re-seals under the current key (rotation); the plaintext never leaves this call. */
    public Sealed reseal(String actorId, String rowId, Sealed sealed) {
        throw new UnsupportedOperationException("TODO helper H1");
    }

    /** "sk-p…a1b2": enough to recognise a secret, never enough to use it. Short secrets show only "…". */
    public static String mask(String secret) {
        throw new UnsupportedOperationException("TODO helper H1");
    }
}
