package dev.keyswap.pipeline;

import io.netty.buffer.ByteBuf;

/**
 * Where an HTTP/1.1 message body ends and which of its bytes are data (RFC 9112 section 6, 7.1),
 * read from the bytes as they arrive without building objects: a body of a known length, one of
 * chunks (extensions and trailers checked and passed over), or one delimited by the connection's
 * close. The bytes themselves are left where they are, so a relay can pass them on as they came.
 * Used for the bodies of client requests ({@link RequestReader}) and of upstream responses
 * ({@link UpstreamResponseReader}).
 *
 * <p>Strict where a lenient reading could make two parties disagree on where the body ends: a
 * chunk size that is not hexadecimal or too large, a chunk line or chunk data not ended by CRLF,
 * a malformed extension or trailer field, a trailer section over the head size limit.
 */
final class BodyFraming {
    /** The data of a body, framing removed: {@code in[index, index + length)}, valid during the call. */
    interface Data {
        void onBodyData(ByteBuf in, int index, int length);
    }

    private enum State {
        LENGTH, UNTIL_CLOSE, CHUNK_SIZE, CHUNK_EXTENSION, CHUNK_SIZE_LF, CHUNK_DATA, CHUNK_DATA_CR, CHUNK_DATA_LF,
        TRAILER, TRAILER_NAME, TRAILER_VALUE, TRAILER_LF, LAST_LF, DONE
    }

    /** A chunk size has at most this many hex digits (2^60 bytes), so it cannot overflow. */
    private static final int MAX_CHUNK_SIZE_DIGITS = 15;

    private final int maxHeadBytes;
    private final String headLimitName;
    private State state = State.DONE;
    /** Body bytes (LENGTH) or chunk data bytes (CHUNK_DATA) still to come. */
    private long remaining;
    private int chunkSizeDigits;
    private int extensionBytes;
    private int trailerBytes;
    private String problem;

    /**
     * @param maxHeadBytes  the limit on a trailer section, and on one chunk's extensions
     * @param headLimitName the setting that sets it, named when a trailer section is over it
     */
    BodyFraming(int maxHeadBytes, String headLimitName) {
        this.maxHeadBytes = maxHeadBytes;
        this.headLimitName = headLimitName;
    }

    /** A body of {@code length} bytes (0: none). */
    void length(long length) {
        state = length == 0 ? State.DONE : State.LENGTH;
        remaining = length;
    }

    /** A body of chunks. */
    void chunked() {
        state = State.CHUNK_SIZE;
        remaining = 0;
        chunkSizeDigits = 0;
        extensionBytes = 0;
        trailerBytes = 0;
    }

    /** A body that ends when the connection closes. */
    void untilClose() {
        state = State.UNTIL_CLOSE;
    }

    /** No body, or no more of it. */
    void done() {
        state = State.DONE;
    }

    boolean isDone() {
        return state == State.DONE;
    }

    /** The body runs until the connection closes, and has not ended. */
    boolean endsAtClose() {
        return state == State.UNTIL_CLOSE;
    }

    /** What was wrong with the framing, once {@link #read} returned -1. */
    String problem() {
        return problem;
    }

    /**
     * Frames the body's bytes in {@code in[index, end)}, reporting its data to {@code data}; returns
     * where it stopped (the body's end, or {@code end}), or -1 when the framing is malformed.
     */
    int read(ByteBuf in, int index, int end, Data data) {
        int p = index;
        while (p < end && state != State.DONE) {
            switch (state) {
                case LENGTH, CHUNK_DATA -> {
                    int n = (int) Math.min(remaining, end - p);
                    data.onBodyData(in, p, n);
                    p += n;
                    remaining -= n;
                    if (remaining == 0) {
                        state = state == State.LENGTH ? State.DONE : State.CHUNK_DATA_CR;
                    }
                }
                case UNTIL_CLOSE -> {
                    data.onBodyData(in, p, end - p);
                    p = end;
                }
                default -> {
                    problem = frame(in.getByte(p++));
                    if (problem != null) {
                        state = State.DONE;
                        return -1;
                    }
                }
            }
        }
        return p;
    }

    /** One byte of chunk framing (RFC 9112 section 7.1); what is wrong with it, or null. */
    private String frame(byte c) {
        switch (state) {
            case CHUNK_SIZE -> {
                int digit = hexDigit(c);
                if (digit >= 0) {
                    if (++chunkSizeDigits > MAX_CHUNK_SIZE_DIGITS) {
                        return "a chunk size is too large";
                    }
                    remaining = remaining * 16 + digit;
                } else if (chunkSizeDigits == 0) {
                    return "a chunk size is not hexadecimal";
                } else if (c == ';' || HeaderBytes.space(c)) {
                    state = State.CHUNK_EXTENSION;
                } else if (c == '\r') {
                    state = State.CHUNK_SIZE_LF;
                } else {
                    return "a chunk size is not hexadecimal";
                }
            }
            case CHUNK_EXTENSION -> {
                if (c == '\r') {
                    state = State.CHUNK_SIZE_LF;
                } else if (!HeaderBytes.value(c) || ++extensionBytes > maxHeadBytes) {
                    return "a chunk extension is malformed";
                }
            }
            case CHUNK_SIZE_LF -> {
                if (c != '\n') {
                    return "a chunk size line does not end in CRLF";
                }
                chunkSizeDigits = 0;
                extensionBytes = 0;
                state = remaining == 0 ? State.TRAILER : State.CHUNK_DATA;
            }
            case CHUNK_DATA_CR -> {
                if (c != '\r') {
                    return "a chunk's data does not end in CRLF";
                }
                state = State.CHUNK_DATA_LF;
            }
            case CHUNK_DATA_LF -> {
                if (c != '\n') {
                    return "a chunk's data does not end in CRLF";
                }
                state = State.CHUNK_SIZE;
            }
            case TRAILER -> {
                if (c == '\r') {
                    state = State.LAST_LF;
                } else if (HeaderBytes.token(c)) {
                    state = State.TRAILER_NAME;
                } else {
                    return "a trailer field is malformed";
                }
            }
            case TRAILER_NAME -> {
                if (c == ':') {
                    state = State.TRAILER_VALUE;
                } else if (!HeaderBytes.token(c)) {
                    return "a trailer field is malformed";
                }
            }
            case TRAILER_VALUE -> {
                if (c == '\r') {
                    state = State.TRAILER_LF;
                } else if (!HeaderBytes.value(c)) {
                    return "a trailer field is malformed";
                }
            }
            case TRAILER_LF, LAST_LF -> {
                if (c != '\n') {
                    return "a trailer line does not end in CRLF";
                }
                state = state == State.LAST_LF ? State.DONE : State.TRAILER;
            }
            default -> throw new IllegalStateException(state.name());
        }
        if (state.compareTo(State.TRAILER) >= 0 && ++trailerBytes > maxHeadBytes) {
            return "the trailer section is larger than " + headLimitName;
        }
        return null;
    }

    private static int hexDigit(byte c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        int lower = c | 0x20;
        return lower >= 'a' && lower <= 'f' ? lower - 'a' + 10 : -1;
    }
}
