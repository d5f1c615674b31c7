package dev.keyswap.auth;

import java.math.BigInteger;
import java.nio.CharBuffer;
import java.security.SecureRandom;
import java.util.zip.CRC32;

/**
 * Keyswap token syntax: {@code ptk_} + base62 of 32 random bytes + a 6-character base62 CRC32
 * checksum of what precedes it. The checksum lets a typo or a forged string be refused without
 * touching the database, and gives secret scanners a pattern to recognise.
 */
public final class TokenFormat {
    public static final String PREFIX = "ptk_";

    static final String ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    /** 62^43 > 2^256 > 62^42: the widest 32-byte value needs 43 digits; shorter ones are zero-padded. */
    static final int BODY_LENGTH = 43;
    /** 62^6 > 2^32: room for any CRC32. */
    static final int CHECKSUM_LENGTH = 6;
    public static final int LENGTH = PREFIX.length() + BODY_LENGTH + CHECKSUM_LENGTH;

    private static final int RANDOM_BYTES = 32;
    private static final BigInteger BASE = BigInteger.valueOf(62);
    private static final SecureRandom RANDOM = new SecureRandom();

    private TokenFormat() {
    }

    /** A fresh token from a SecureRandom. */
    public static String newToken() {
        byte[] random = new byte[RANDOM_BYTES];
        RANDOM.nextBytes(random);
        char[] out = new char[LENGTH];
        PREFIX.getChars(0, PREFIX.length(), out, 0);

        // Not a hot path (one call per token created), so BigInteger's clarity beats a hand-rolled divmod.
        BigInteger n = new BigInteger(1, random);
        for (int i = PREFIX.length() + BODY_LENGTH - 1; i >= PREFIX.length(); i--) {
            BigInteger[] qr = n.divideAndRemainder(BASE);
            out[i] = ALPHABET.charAt(qr[1].intValue());
            n = qr[0];
        }
        long crc = crc32(CharBuffer.wrap(out), PREFIX.length() + BODY_LENGTH);
        for (int i = LENGTH - 1; i >= LENGTH - CHECKSUM_LENGTH; i--) {
            out[i] = ALPHABET.charAt((int) (crc % 62));
            crc /= 62;
        }
        return new String(out);
    }

    /** True when the string has the prefix, the right length and alphabet, and a matching checksum. Allocation-free. */
    public static boolean isWellFormed(CharSequence token) {
        if (token == null || token.length() != LENGTH) {
            return false;
        }
        for (int i = 0; i < PREFIX.length(); i++) {
            if (token.charAt(i) != PREFIX.charAt(i)) {
                return false;
            }
        }
        long checksum = 0;
        for (int i = PREFIX.length(); i < LENGTH; i++) {
            int digit = digit(token.charAt(i));
            if (digit < 0) {
                return false;
            }
            if (i >= LENGTH - CHECKSUM_LENGTH) {
                checksum = checksum * 62 + digit;
            }
        }
        return checksum == crc32(token, LENGTH - CHECKSUM_LENGTH);
    }

    /** CRC32 of the first {@code end} characters, taken as ASCII bytes (callers have checked the alphabet). */
    private static long crc32(CharSequence s, int end) {
        // A local that never escapes: the JIT scalar-replaces it, so this does not allocate once compiled.
        CRC32 crc = new CRC32();
        for (int i = 0; i < end; i++) {
            crc.update(s.charAt(i));
        }
        return crc.getValue();
    }

    private static int digit(char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'A' && c <= 'Z') {
            return c - 'A' + 10;
        }
        if (c >= 'a' && c <= 'z') {
            return c - 'a' + 36;
        }
        return -1;
    }
}
