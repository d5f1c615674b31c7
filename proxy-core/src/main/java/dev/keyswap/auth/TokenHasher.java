package dev.keyswap.auth;

import dev.keyswap.vault.MasterKey;

/**
 * Tokens are stored only as HMAC-SHA256(pepper, token), the pepper derived from the master key,
 * so a copy of the database alone cannot be brute-forced offline. Thread-safe; hot path.
 */
public final class TokenHasher {
    public TokenHasher(MasterKey masterKey) {
        throw new UnsupportedOperationException("TODO helper A");
    }

    /** 32-byte keyed hash of the token's characters (US-ASCII). */
    public byte[] hash(CharSequence token) {
        throw new UnsupportedOperationException("TODO helper A");
    }
}
