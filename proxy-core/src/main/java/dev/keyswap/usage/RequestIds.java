package dev.keyswap.usage;

import java.util.Arrays;
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
    /** Indexed by character: the value of a lowercase hex digit, -1 for every other ASCII character. */
    private static final byte[] DIGIT_VALUES = new byte[128];

    static {
        Arrays.fill(DIGIT_VALUES, (byte) -1);
        for (int i = 0; i < HEX.length; i++) {
            DIGIT_VALUES[HEX[i]] = (byte) i;
        }
    }

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
        // OR-ing the digits' values, with -1 for anything else, keeps the loop free of branches:
        // random hex digits made the two range tests mispredict, ~150 ns an id (a third of a
        // microsecond per request on the usage writer, async-profiler at c=64).
        int digits = 0;
        for (int i = PREFIX.length(); i < LENGTH; i++) {
            digits |= digit(id.charAt(i));
        }
        return digits >= 0;
    }

    /** An own id's first 16 hex digits, as the signed 64-bit integer with those bits. */
    public static long high(String ownId) {
        return digits(ownId, PREFIX.length(), HIGH_DIGITS);
    }

    /** An own id's last 8 hex digits. */
    public static long low(String ownId) {
        return digits(ownId, LENGTH - LOW_DIGITS, LOW_DIGITS);
    }

    private static long digits(String ownId, int from, int count) {
        long value = 0;
        for (int i = from; i < from + count; i++) {
            value = value << 4 | digit(ownId.charAt(i));
        }
        return value;
    }

    /** A lowercase hex digit's value, else -1. */
    private static int digit(char ch) {
        return ch < DIGIT_VALUES.length ? DIGIT_VALUES[ch] : -1;
    }
}
