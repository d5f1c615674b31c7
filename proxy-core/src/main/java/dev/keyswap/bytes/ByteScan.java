package dev.keyswap.bytes;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Finds the next byte of interest in a byte array eight bytes at a time (SWAR: bit tricks on a
 * {@code long}), for the loops that run over every byte of a response: the plain run of a JSON
 * string and the rest of an SSE line (the usage scan), a response head's lines and field values
 * (the response reader). A byte-at-a-time loop there cost ~1–2.5 ns per byte (JMH,
 * {@code UsageExtractionBenchmark}, {@code ResponseHeadBenchmark}).
 *
 * <p>The tricks: {@code (x - 0x01..) & ~x & 0x80..} has the high bit set in the lowest byte of
 * {@code x} that is zero (higher bytes may be flagged falsely through the borrow, never lower
 * ones), so XOR with a repeated byte finds that byte, and the lowest flagged byte, read with
 * {@code numberOfTrailingZeros} on little-endian longs, is always a real match.
 */
public final class ByteScan {
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long ONES = 0x0101010101010101L;
    private static final long HIGHS = 0x8080808080808080L;
    private static final long QUOTES = ONES * '"';
    private static final long BACKSLASHES = ONES * '\\';
    private static final long SPACES = ONES * 0x20;
    private static final long LINE_FEEDS = ONES * '\n';
    private static final long CARRIAGE_RETURNS = ONES * '\r';
    private static final long DELETES = ONES * 0x7f;

    private ByteScan() {
    }

    /**
     * The index of the first byte in {@code [from, to)} that ends a plain run of JSON string
     * text ({@code "}, {@code \}, a control character below 0x20, or any byte of 0x80 and up,
     * which starts a UTF-8 sequence), or {@code to} if there is none.
     */
    public static int plainStringEnd(byte[] src, int from, int to) {
        int i = from;
        for (; i + Long.BYTES <= to; i += Long.BYTES) {
            long x = (long) LONGS.get(src, i);
            // Bytes >= 0x80 are flagged by x itself; below that, the subtraction finds < 0x20.
            long found = zeroByte(x ^ QUOTES) | zeroByte(x ^ BACKSLASHES) | ((x - SPACES) & ~x & HIGHS) | (x & HIGHS);
            if (found != 0) {
                return i + (Long.numberOfTrailingZeros(found) >>> 3);
            }
        }
        for (; i < to; i++) {
            int b = src[i];
            if (b < 0x20 || b == '"' || b == '\\') { // negative: 0x80 and up
                return i;
            }
        }
        return to;
    }

    /** The index of the first LF or CR in {@code [from, to)}, or {@code to} if there is none. */
    public static int lineEnd(byte[] src, int from, int to) {
        return lineEndOr(src, from, to, (byte) '\n');
    }

    /**
     * The index of the first LF, CR or {@code b} in {@code [from, to)}, or {@code to} if there is
     * none: one pass where a line's end and one byte inside it are both wanted.
     */
    public static int lineEndOr(byte[] src, int from, int to, byte b) {
        long repeated = ONES * (b & 0xFF);
        int i = from;
        for (; i + Long.BYTES <= to; i += Long.BYTES) {
            long x = (long) LONGS.get(src, i);
            long found = zeroByte(x ^ LINE_FEEDS) | zeroByte(x ^ CARRIAGE_RETURNS) | zeroByte(x ^ repeated);
            if (found != 0) {
                return i + (Long.numberOfTrailingZeros(found) >>> 3);
            }
        }
        for (; i < to; i++) {
            byte c = src[i];
            if (c == '\n' || c == '\r' || c == b) {
                return i;
            }
        }
        return to;
    }

    /** The index of the first {@code b} in {@code [from, to)}, or {@code to} if there is none. */
    public static int indexOf(byte[] src, int from, int to, byte b) {
        long repeated = ONES * (b & 0xFF);
        int i = from;
        for (; i + Long.BYTES <= to; i += Long.BYTES) {
            long found = zeroByte((long) LONGS.get(src, i) ^ repeated);
            if (found != 0) {
                return i + (Long.numberOfTrailingZeros(found) >>> 3);
            }
        }
        for (; i < to; i++) {
            if (src[i] == b) {
                return i;
            }
        }
        return to;
    }

    /**
     * The index of the first byte in {@code [from, to)} that cannot be in an HTTP field value
     * (RFC 9110 section 5.5: a control character other than HTAB, or DEL), or {@code to} if there
     * is none. Bytes of 0x80 and up (obs-text) may be.
     */
    public static int fieldValueEnd(byte[] src, int from, int to) {
        int i = from;
        while (i + Long.BYTES <= to) {
            long x = (long) LONGS.get(src, i);
            long found = ((x - SPACES) & ~x & HIGHS) | zeroByte(x ^ DELETES);
            if (found == 0) {
                i += Long.BYTES;
                continue;
            }
            int at = i + (Long.numberOfTrailingZeros(found) >>> 3);
            if (src[at] != '\t') {
                return at;
            }
            i = at + 1;
        }
        for (; i < to; i++) {
            int b = src[i] & 0xff;
            if ((b < 0x20 && b != '\t') || b == 0x7f) {
                return i;
            }
        }
        return to;
    }

    /** High bit set in the lowest zero byte of {@code x} (and possibly in bytes above it). */
    private static long zeroByte(long x) {
        return (x - ONES) & ~x & HIGHS;
    }
}
