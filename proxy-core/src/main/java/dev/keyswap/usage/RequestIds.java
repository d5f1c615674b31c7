package dev.keyswap.usage;

import java.util.concurrent.ThreadLocalRandom;

/**
 * Keyswap's request ids: "req_" + 24 lowercase hex digits (96 random bits): unique enough to join
 * logs, cheap to make.
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
}
