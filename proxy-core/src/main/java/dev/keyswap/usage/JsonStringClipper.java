package dev.keyswap.usage;

/**
 * Passes JSON bytes through unchanged except that every string token (values and names alike) is
 * cut after {@link #MAX_STRING_BYTES} bytes, keeping its closing quote.
 *
 * <p>Why: Jackson's parser must hold a whole string token before it can return it, so one huge
 * string (a long completion, a base64 image, an embedding encoded as text) would otherwise be
 * buffered in full. Nothing we extract is longer than a model name, so we keep the start of each
 * string and drop the rest before Jackson sees it. The cut is made only between characters and
 * never inside an escape sequence or between the two escapes of a surrogate pair (an emoji
 * written as two backslash-u escapes), so what Jackson gets is still valid JSON and valid UTF-8.
 *
 * <p>{@link JsonUsageScanner} no longer uses Jackson, but keeps the {@code model}/{@code type}
 * values it reads through this same rule ({@link #startString()}), so they are the prefix Jackson
 * used to be shown.
 */
final class JsonStringClipper {
    static final int MAX_STRING_BYTES = 1024;

    private static final int OUTSIDE = 0;
    private static final int IN_STRING = 1;
    private static final int ESCAPE = 2;
    private static final int UNICODE_ESCAPE = 3;
    private static final int DROPPING = 4;
    private static final int DROPPING_ESCAPE = 5;

    private int state = OUTSIDE;
    private int kept;
    private int hexDigitsLeft;
    private int escapedChar;
    /** Just passed a high-surrogate escape: Jackson rejects one cut off from its low half. */
    private boolean awaitingLowSurrogate;

    void reset() {
        state = OUTSIDE;
        kept = 0;
        hexDigitsLeft = 0;
        escapedChar = 0;
        awaitingLowSurrogate = false;
    }

    /**
     * Starts inside a string, just after its opening quote: {@link JsonUsageScanner} feeds only
     * the contents of a string it keeps (never the quotes), so the output is at most
     * {@value #MAX_STRING_BYTES} + 12 bytes however long the string is.
     */
    void startString() {
        reset();
        state = IN_STRING;
    }

    /**
     * Copies {@code src[from, to)} to the start of {@code dst}, dropping clipped bytes. Output is
     * never longer than input, so {@code dst} needs room for {@code to - from} bytes.
     *
     * @return the number of bytes written
     */
    int clip(byte[] src, int from, int to, byte[] dst) {
        return clip(src, from, to, dst, 0);
    }

    /** As {@link #clip(byte[], int, int, byte[])}, writing from {@code dst[dstOffset]}. */
    int clip(byte[] src, int from, int to, byte[] dst, int dstOffset) {
        int out = dstOffset;
        for (int i = from; i < to; i++) {
            byte b = src[i];
            switch (state) {
                case OUTSIDE:
                    dst[out++] = b;
                    if (b == '"') {
                        state = IN_STRING;
                        kept = 0;
                    }
                    break;
                case IN_STRING:
                    if (b == '"') {
                        dst[out++] = b;
                        state = OUTSIDE;
                        awaitingLowSurrogate = false;
                    } else if (kept >= MAX_STRING_BYTES && (b & 0xC0) != 0x80 && !awaitingLowSurrogate) {
                        // b starts a character (not a UTF-8 continuation byte): safe place to cut.
                        state = b == '\\' ? DROPPING_ESCAPE : DROPPING;
                    } else {
                        dst[out++] = b;
                        kept++;
                        if (b == '\\') {
                            state = ESCAPE;
                        } else {
                            awaitingLowSurrogate = false;
                        }
                    }
                    break;
                case ESCAPE:
                    dst[out++] = b;
                    kept++;
                    if (b == 'u') {
                        hexDigitsLeft = 4;
                        escapedChar = 0;
                        state = UNICODE_ESCAPE;
                    } else {
                        awaitingLowSurrogate = false;
                        state = IN_STRING;
                    }
                    break;
                case UNICODE_ESCAPE:
                    dst[out++] = b;
                    kept++;
                    escapedChar = (escapedChar << 4) | Character.digit(b, 16);
                    if (--hexDigitsLeft == 0) {
                        awaitingLowSurrogate = Character.isHighSurrogate((char) escapedChar);
                        state = IN_STRING;
                    }
                    break;
                case DROPPING:
                    if (b == '"') {
                        dst[out++] = b;
                        state = OUTSIDE;
                    } else if (b == '\\') {
                        state = DROPPING_ESCAPE;
                    }
                    break;
                default: // DROPPING_ESCAPE: the escaped byte cannot end the string
                    state = DROPPING;
                    break;
            }
        }
        return out - dstOffset;
    }
}
