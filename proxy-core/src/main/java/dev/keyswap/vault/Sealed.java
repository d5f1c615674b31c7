package dev.keyswap.vault;

/**
 * A secret encrypted at rest: AES-256-GCM under a key derived for one actor from the master key
 * named by {@code keyId} (the master key's check value), with a random 96-bit nonce. The
 * associated data binds it to its actor, row and key, so a ciphertext copied elsewhere fails.
 */
public record Sealed(String keyId, byte[] nonce, byte[] ciphertext) {
}
