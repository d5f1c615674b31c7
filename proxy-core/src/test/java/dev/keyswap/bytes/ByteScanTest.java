package dev.keyswap.bytes;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The eight-at-a-time scans answer exactly what a byte-at-a-time loop answers. */
class ByteScanTest {

    private static int naivePlainStringEnd(byte[] src, int from, int to) {
        for (int i = from; i < to; i++) {
            int b = src[i];
            if (b < 0x20 || b == '"' || b == '\\') {
                return i;
            }
        }
        return to;
    }

    private static int naiveLineEnd(byte[] src, int from, int to) {
        for (int i = from; i < to; i++) {
            if (src[i] == '\n' || src[i] == '\r') {
                return i;
            }
        }
        return to;
    }

    private static int naiveLineEndOr(byte[] src, int from, int to, byte b) {
        return Math.min(naiveLineEnd(src, from, to), naiveIndexOf(src, from, to, b));
    }

    private static int naiveIndexOf(byte[] src, int from, int to, byte b) {
        for (int i = from; i < to; i++) {
            if (src[i] == b) {
                return i;
            }
        }
        return to;
    }

    private static int naiveFieldValueEnd(byte[] src, int from, int to) {
        for (int i = from; i < to; i++) {
            int b = src[i] & 0xff;
            if ((b < 0x20 && b != '\t') || b == 0x7f) {
                return i;
            }
        }
        return to;
    }

    @Test
    void everyByteValueAtEveryPositionOfARunIsFoundWhereTheLoopFindsIt() {
        for (int value = 0; value < 256; value++) {
            for (int at = 0; at < 19; at++) {
                for (int from = 0; from < 3; from++) {
                    byte[] src = new byte[24];
                    Arrays.fill(src, (byte) 'a');
                    src[from + at < src.length ? from + at : src.length - 1] = (byte) value;
                    for (int to = from; to <= src.length; to++) {
                        String where = "value 0x" + Integer.toHexString(value) + " at " + at + ", [" + from + ", " + to + ")";
                        assertEquals(naivePlainStringEnd(src, from, to), ByteScan.plainStringEnd(src, from, to), where);
                        assertEquals(naiveLineEnd(src, from, to), ByteScan.lineEnd(src, from, to), where);
                        assertEquals(naiveLineEndOr(src, from, to, (byte) value), ByteScan.lineEndOr(src, from, to, (byte) value), where);
                        assertEquals(naiveLineEndOr(src, from, to, (byte) 'u'), ByteScan.lineEndOr(src, from, to, (byte) 'u'), where);
                        assertEquals(naiveFieldValueEnd(src, from, to), ByteScan.fieldValueEnd(src, from, to), where);
                        assertEquals(naiveIndexOf(src, from, to, (byte) value), ByteScan.indexOf(src, from, to, (byte) value), where);
                        assertEquals(naiveIndexOf(src, from, to, (byte) 'u'), ByteScan.indexOf(src, from, to, (byte) 'u'), where);
                    }
                }
            }
        }
    }

    @Test
    void randomTextWithSeveralStopBytesAgrees() {
        SplittableRandom random = new SplittableRandom(20261122);
        byte[] alphabet = {'a', 'Z', ' ', '"', '\\', '\n', '\r', 0x1f, 0x20, 0x7f, (byte) 0x80, (byte) 0xc3, (byte) 0xff, 0, '!', '#',
            '\t', '\t', '\t'};
        for (int round = 0; round < 20_000; round++) {
            byte[] src = new byte[random.nextInt(1, 70)];
            for (int i = 0; i < src.length; i++) {
                // Mostly plain text, so runs are long enough to take the eight-byte path.
                src[i] = random.nextInt(8) == 0 ? alphabet[random.nextInt(alphabet.length)] : (byte) random.nextInt('a', 'z' + 1);
            }
            int from = random.nextInt(src.length);
            int to = random.nextInt(from, src.length + 1);
            assertEquals(naivePlainStringEnd(src, from, to), ByteScan.plainStringEnd(src, from, to), Arrays.toString(src));
            assertEquals(naiveLineEnd(src, from, to), ByteScan.lineEnd(src, from, to), Arrays.toString(src));
            assertEquals(naiveLineEndOr(src, from, to, (byte) '"'), ByteScan.lineEndOr(src, from, to, (byte) '"'), Arrays.toString(src));
            assertEquals(naiveFieldValueEnd(src, from, to), ByteScan.fieldValueEnd(src, from, to), Arrays.toString(src));
        }
    }
}
