package dev.keyswap.auth;

/**
 * Keyswap token syntax: {@code ptk_} + base62 of 32 random bytes + a 6-character base62 CRC32
 * checksum of what precedes it. The checksum lets a typo or a forged string be refused without
 * touching the database, and gives secret scanners a pattern to recognise.
 */
public final class TokenFormat {
    public static final String PREFIX = "ptk_";

    private TokenFormat() {
    }

    /** A fresh token from a SecureRandom. */
    public static String newToken() {
        throw new UnsupportedOperationException("TODO helper A");
    }

    /** True when the string has the prefix, the right length and alphabet, and a matching checksum. Allocation-free. */
    public static boolean isWellFormed(CharSequence token) {
        throw new UnsupportedOperationException("TODO helper A");
    }
}
