package dev.keyswap.usage;

import java.util.concurrent.ThreadLocalRandom;

/**
 * Keyswap's request ids: "req_" + 24 lowercase hex digits (96 random bits): unique enough to join
 * logs, cheap to make. The usage store keeps an id of exactly this form as two integers, its
 * first {@value #HIGH_DIGITS} and last {@value #LOW_DIGITS} hex digits (the {@code usage_records}
 * view prints them back the same way, V7), and any other id as text.
 */
public final class RequestIds {
    private static final String PREFIX = "req_";
    private static final int HIGH_DIGITS = 16;
    private static final int LOW_DIGITS = 8;
    private static final int LENGTH = PREFIX.length() + HIGH_DIGITS + LOW_DIGITS;
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private RequestIds() {
    }

    public static String next() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        long high = r.nextLong();
        int low = r.nextInt();
        char[] out = new char[LENGTH];
        PREFIX.getChars(0, PREFIX.length(), out, 0);
        for (int i = 0; i < HIGH_DIGITS; i++) {
            out[PREFIX.length() + i] = HEX[(int) (high >>> (60 - 4 * i)) & 0xf];
        }
        for (int i = 0; i < LOW_DIGITS; i++) {
            out[PREFIX.length() + HIGH_DIGITS + i] = HEX[(low >>> (28 - 4 * i)) & 0xf];
        }
        return new String(out);
    }

    /**
     * The id has exactly the form {@link #next} makes (uppercase digits do not count: they would
     * come back lowercase from the integers).
     */
    public static boolean isOwn(String id) {
        if (id == null || id.length() != LENGTH || !id.startsWith(PREFIX)) {
            return false;
        }
        for (int i = PREFIX.length(); i < LENGTH; i++) {
            char ch = id.charAt(i);
            if ((ch < '0' || ch > '9') && (ch < 'a' || ch > 'f')) {
                return false;
            }
        }
        return true;
    }

    /** An own id's first 16 hex digits, as the signed 64-bit integer with those bits. */
    public static long high(String ownId) {
        return Long.parseUnsignedLong(ownId, PREFIX.length(), PREFIX.length() + HIGH_DIGITS, 16);
    }

    /** An own id's last 8 hex digits. */
    public static long low(String ownId) {
        return Long.parseLong(ownId, LENGTH - LOW_DIGITS, LENGTH, 16);
    }
}
