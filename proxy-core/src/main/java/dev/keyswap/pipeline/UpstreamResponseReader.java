package dev.keyswap.pipeline;

import dev.keyswap.bytes.ByteScan;
import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.FastThreadLocal;
import java.util.Arrays;

/**
 * Reads an upstream's HTTP/1.1 responses from its bytes as they arrive, without building
 * objects: the head is parsed where it lies ({@link ResponseHead}) and the body is only framed
 * (where it ends, and which bytes are data), so the relay can pass the body's bytes on as they
 * came. Netty's decoder made a header object, a content object and a slice per piece, and the
 * client's encoder wrote them all out again.
 *
 * <p>Strict where a lenient reading could make the relay and the client disagree on where a
 * response ends (RFC 9112 section 6.3, 11.2): a Content-Length beside Transfer-Encoding, a
 * transfer coding other than chunked (or any in HTTP/1.0), differing Content-Lengths, obs-folded
 * or malformed fields, control characters, chunk lines not ended by CRLF, a head over the size
 * limit — all are reported malformed, and the connection is not used again. On well-formed
 * responses it agrees with Netty's decoder ({@code UpstreamResponseReaderDifferentialTest}).
 *
 * <p>One per client connection, reset for each exchange, on its event loop.
 */
final class UpstreamResponseReader {
    /** What the reader finds, in order: a head, then data and the body's bytes, then the end. */
    interface Listener {
        /**
         * A final response head (101, or 200 and above; other informational heads are skipped).
         * Returns false when the exchange stops reading this connection.
         */
        boolean onResponseHead(ResponseHead head, ByteBuf in, int bodyIndex);

        /** Body data, chunk framing removed: {@code in[index, index + length)}, valid during the call. */
        void onResponseData(ByteBuf in, int index, int length);

        /**
         * The body's bytes in this piece as they came, framing included, after their data was
         * reported: {@code in[index, index + length)}, valid during the call.
         */
        void onResponseBytes(ByteBuf in, int index, int length);

        /** The response is complete; {@code moreBytes}: the upstream sent bytes after it. */
        void onResponseEnd(boolean moreBytes);

        void onResponseMalformed(String what);
    }

    private enum State {
        HEAD, LENGTH, UNTIL_CLOSE, CHUNK_SIZE, CHUNK_EXTENSION, CHUNK_SIZE_LF, CHUNK_DATA, CHUNK_DATA_CR, CHUNK_DATA_LF,
        TRAILER, TRAILER_NAME, TRAILER_VALUE, TRAILER_LF, LAST_LF, DONE
    }

    /** Heads are copied here to be parsed (an array is read far faster than a direct buffer). */
    private static final FastThreadLocal<byte[]> SCRATCH = new FastThreadLocal<>() {
        @Override
        protected byte[] initialValue() {
            return new byte[4096];
        }
    };
    /** Bytes copied at a time while looking for the end of a head, so a large first read is not copied whole. */
    private static final int HEAD_WINDOW = 2048;
    /** A chunk size has at most this many hex digits (2^60 bytes), so it cannot overflow. */
    private static final int MAX_CHUNK_SIZE_DIGITS = 15;

    // The names kind() recognises and the words of Connection and Transfer-Encoding, in lower case.
    private static final byte[] CHUNKED = ascii("chunked");
    private static final byte[] CLOSE = ascii("close");
    private static final byte[] CONNECTION = ascii("connection");
    private static final byte[] CONTENT_LENGTH = ascii("content-length");
    private static final byte[] CONTENT_TYPE = ascii("content-type");
    private static final byte[] KEEP_ALIVE = ascii("keep-alive");
    private static final byte[] PROXY_AUTHENTICATE = ascii("proxy-authenticate");
    private static final byte[] PROXY_AUTHORIZATION = ascii("proxy-authorization");
    private static final byte[] PROXY_CONNECTION = ascii("proxy-connection");
    private static final byte[] RETRY_AFTER = ascii("retry-after");
    private static final byte[] SET_COOKIE = ascii("set-cookie");
    private static final byte[] TE = ascii("te");
    private static final byte[] TRAILER = ascii("trailer");
    private static final byte[] TRANSFER_ENCODING = ascii("transfer-encoding");
    private static final byte[] UPGRADE = ascii("upgrade");
    private static final byte[] X_PROXY_DURATION_MS = ascii("x-proxy-duration-ms");
    private static final byte[] X_REQUEST_ID = ascii("x-request-id");

    private final int maxHeadBytes;
    private final ResponseHead head = new ResponseHead();
    private State state = State.DONE;
    private boolean headRequest;
    /** A head's bytes from earlier pieces, while it is incomplete. */
    private byte[] partial;
    private int partialLength;
    /** Body bytes (LENGTH) or chunk data bytes (CHUNK_DATA) still to come. */
    private long remaining;
    private int chunkSizeDigits;
    private int extensionBytes;
    private int trailerBytes;

    UpstreamResponseReader(int maxHeadBytes) {
        this.maxHeadBytes = maxHeadBytes;
    }

    /** Ready for the response to a new request; {@code headRequest}: it can have no body. */
    void reset(boolean headRequest) {
        this.headRequest = headRequest;
        state = State.HEAD;
        partialLength = 0;
        if (partial != null && partial.length > HEAD_WINDOW) {
            partial = null;
        }
    }

    /** The response's body runs until the connection closes, and has not ended. */
    boolean endsAtClose() {
        return state == State.UNTIL_CLOSE;
    }

    /** The upstream closed: true when that ends the response (a body delimited by the close). */
    boolean closed() {
        if (state == State.UNTIL_CLOSE) {
            state = State.DONE;
            return true;
        }
        return false;
    }

    /** Reads a piece of the upstream's bytes; never keeps it or changes its indices. */
    void read(ByteBuf in, Listener listener) {
        int index = in.readerIndex();
        int end = in.writerIndex();
        while (index < end) {
            if (state == State.DONE) {
                return;
            }
            if (state == State.HEAD) {
                index = readHead(in, index, end, listener);
                if (index < 0) {
                    return;
                }
                continue;
            }
            int bodyFrom = index;
            index = readBody(in, index, end, listener);
            if (index < 0) {
                return;
            }
            if (index > bodyFrom) {
                listener.onResponseBytes(in, bodyFrom, index - bodyFrom);
            }
            if (state == State.DONE) {
                listener.onResponseEnd(index < end);
                return;
            }
        }
    }

    // ---- head ------------------------------------------------------------------------------

    /** Returns where the body starts in {@code in}, or -1 when this piece is used up or reading stopped. */
    private int readHead(ByteBuf in, int from, int end, Listener listener) {
        byte[] b = SCRATCH.get();
        int have = partialLength;
        if (have > 0) {
            b = ensure(b, have);
            System.arraycopy(partial, 0, b, 0, have);
        }
        int scanFrom = Math.max(0, have - 2);
        int taken = 0;
        int headEnd = -1;
        int window = HEAD_WINDOW;
        while (headEnd < 0) {
            int n = Math.min(Math.min(end - from - taken, window), maxHeadBytes - have);
            if (n <= 0) {
                break;
            }
            b = ensure(b, have + n);
            in.getBytes(from + taken, b, have, n);
            have += n;
            taken += n;
            headEnd = headEnd(b, scanFrom, have);
            scanFrom = Math.max(0, have - 2);
            window *= 2;
        }
        if (headEnd < 0) {
            if (have >= maxHeadBytes) {
                return fail(listener, "the response head is larger than upstream.max_response_header_bytes");
            }
            keepPartial(b, have);
            return -1;
        }
        int bodyIndex = from + taken - (have - headEnd);
        partialLength = 0;
        String problem = parseHead(b, headEnd);
        if (problem != null) {
            return fail(listener, problem);
        }
        int status = head.status;
        if (status >= 100 && status < 200 && status != 101) {
            return bodyIndex; // informational (100 Continue, 103 Early Hints): the final head follows
        }
        if (status == 101 || headRequest || status == 204 || status == 304) {
            state = State.DONE;
        } else if (head.chunked) {
            state = State.CHUNK_SIZE;
            remaining = 0;
            chunkSizeDigits = 0;
            extensionBytes = 0;
            trailerBytes = 0;
        } else if (head.contentLength >= 0) {
            state = head.contentLength == 0 ? State.DONE : State.LENGTH;
            remaining = head.contentLength;
        } else {
            state = State.UNTIL_CLOSE;
        }
        if (!listener.onResponseHead(head, in, bodyIndex)) {
            // The exchange left this connection; it may already have reset this reader for the
            // next one (a retry on a pooled connection), so nothing here is touched again.
            return -1;
        }
        if (state == State.DONE) {
            if (status != 101) {
                listener.onResponseEnd(bodyIndex < end);
            }
            return -1;
        }
        return bodyIndex;
    }

    private static byte[] ensure(byte[] b, int length) {
        if (b.length >= length) {
            return b;
        }
        byte[] bigger = Arrays.copyOf(b, Math.max(length, b.length * 2));
        SCRATCH.set(bigger);
        return bigger;
    }

    private void keepPartial(byte[] b, int have) {
        if (partial == null || partial.length < have) {
            partial = new byte[Math.max(have, HEAD_WINDOW)];
        }
        System.arraycopy(b, 0, partial, 0, have);
        partialLength = have;
    }

    /** The index just past the head's empty line, or -1. */
    private static int headEnd(byte[] b, int from, int to) {
        for (int i = ByteScan.indexOf(b, from, to, (byte) '\n'); i < to; i = ByteScan.indexOf(b, i + 1, to, (byte) '\n')) {
            if (i + 1 < to && b[i + 1] == '\n') {
                return i + 2;
            }
            if (i + 2 < to && b[i + 1] == '\r' && b[i + 2] == '\n') {
                return i + 3;
            }
        }
        return -1;
    }

    /** Fills {@link #head} from {@code b[0, length)}; returns what is wrong with it, or null. */
    private String parseHead(byte[] b, int length) {
        ResponseHead h = head;
        h.clear();
        h.bytes = b;
        h.length = length;
        if (length < 13 || b[0] != 'H' || b[1] != 'T' || b[2] != 'T' || b[3] != 'P' || b[4] != '/' || b[5] != '1'
                || b[6] != '.' || (b[7] != '1' && b[7] != '0') || b[8] != ' ') {
            return "the status line is not HTTP/1.1 or HTTP/1.0";
        }
        h.http11 = b[7] == '1';
        if (b[9] < '1' || b[9] > '5' || !digit(b[10]) || !digit(b[11])) {
            return "the status code is not three digits from 100 to 599";
        }
        h.status = (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');
        h.statusFrom = 8;
        int p = 12;
        if (b[p] == ' ') {
            p = ByteScan.fieldValueEnd(b, p, length);
        }
        h.statusTo = p;
        p = lineEnd(b, p);
        if (p < 0) {
            return "the status line has a control character";
        }
        while (true) {
            if (b[p] == '\n') {
                break;
            }
            if (b[p] == '\r' && b[p + 1] == '\n') {
                break;
            }
            if (HeaderBytes.space(b[p])) {
                return "a header field is folded over lines (obs-fold)";
            }
            int nameFrom = p;
            // The colon found eight bytes at a time, then every byte before it checked without a
            // branch per byte: a line end or space before the colon fails the check as well.
            p = ByteScan.indexOf(b, p, length, (byte) ':');
            if (p == nameFrom || p == length || !HeaderBytes.allToken(b, nameFrom, p)) {
                return "a header field's name is malformed";
            }
            int nameTo = p++;
            while (HeaderBytes.space(b[p])) {
                p++;
            }
            int valueFrom = p;
            p = ByteScan.fieldValueEnd(b, p, length);
            int valueTo = p;
            while (valueTo > valueFrom && HeaderBytes.space(b[valueTo - 1])) {
                valueTo--;
            }
            p = lineEnd(b, p);
            if (p < 0) {
                return "a header field's value has a control character";
            }
            String problem = addField(h, b, nameFrom, nameTo, valueFrom, valueTo);
            if (problem != null) {
                return problem;
            }
        }
        if (h.chunked && h.contentLength >= 0) {
            return "the response has both Content-Length and Transfer-Encoding";
        }
        if (h.chunked && !h.http11) {
            // RFC 9112 section 6.1: faulty framing, whatever else the head says.
            return "an HTTP/1.0 response has a Transfer-Encoding";
        }
        if (h.connectionNominates) {
            dropNominated(h, b);
        }
        return null;
    }

    private static boolean digit(byte c) {
        return c >= '0' && c <= '9';
    }

    /** The index after the line end at {@code p} (CRLF, or a bare LF), or -1 if another byte is there. */
    private static int lineEnd(byte[] b, int p) {
        if (b[p] == '\n') {
            return p + 1;
        }
        return b[p] == '\r' && b[p + 1] == '\n' ? p + 2 : -1;
    }

    private static String addField(ResponseHead h, byte[] b, int nameFrom, int nameTo, int valueFrom, int valueTo) {
        h.grow();
        int i = h.fields++;
        int kind = kind(b, nameFrom, nameTo);
        h.nameFrom[i] = nameFrom;
        h.nameTo[i] = nameTo;
        h.valueFrom[i] = valueFrom;
        h.valueTo[i] = valueTo;
        h.kind[i] = kind;
        h.dropped[i] = kind == ResponseHead.DROPPED || kind == ResponseHead.TRANSFER_ENCODING
                || kind == ResponseHead.CONNECTION;
        switch (kind) {
            case ResponseHead.CONTENT_LENGTH -> {
                long n = contentLength(b, valueFrom, valueTo);
                if (n < 0 || (h.contentLength >= 0 && h.contentLength != n)) {
                    return "the Content-Length is not one decimal number";
                }
                h.contentLength = n;
            }
            case ResponseHead.TRANSFER_ENCODING -> {
                if (h.chunked || !HeaderBytes.spells(b, valueFrom, valueTo, CHUNKED)) {
                    return "the Transfer-Encoding is not chunked alone";
                }
                h.chunked = true;
            }
            case ResponseHead.CONNECTION -> connectionOptions(h, b, valueFrom, valueTo, false);
            case ResponseHead.CONTENT_TYPE -> h.contentTypeField = i;
            case ResponseHead.RETRY_AFTER -> h.retryAfterField = i;
            default -> {
            }
        }
        return null;
    }

    private static long contentLength(byte[] b, int from, int to) {
        if (from == to || to - from > 18) {
            return -1;
        }
        long n = 0;
        for (int i = from; i < to; i++) {
            if (!digit(b[i])) {
                return -1;
            }
            n = n * 10 + (b[i] - '0');
        }
        return n;
    }

    /**
     * Reads a Connection field's options (RFC 9110 section 7.6.1): close, keep-alive, or the name
     * of a field meant for this hop only, dropped when {@code dropNamed} (once every field is read).
     */
    private static void connectionOptions(ResponseHead h, byte[] b, int from, int to, boolean dropNamed) {
        int p = from;
        while (p < to) {
            int comma = p;
            while (comma < to && b[comma] != ',') {
                comma++;
            }
            int s = p;
            int e = comma;
            while (s < e && HeaderBytes.space(b[s])) {
                s++;
            }
            while (e > s && HeaderBytes.space(b[e - 1])) {
                e--;
            }
            if (HeaderBytes.spells(b, s, e, CLOSE)) {
                h.connectionClose = true;
            } else if (HeaderBytes.spells(b, s, e, KEEP_ALIVE)) {
                h.connectionKeepAlive = true;
            } else if (e > s) {
                h.connectionNominates = true;
                if (dropNamed) {
                    h.drop(b, s, e);
                }
            }
            p = comma + 1;
        }
    }

    /** Drops the fields the Connection fields name. */
    private static void dropNominated(ResponseHead h, byte[] b) {
        for (int c = 0; c < h.fields; c++) {
            if (h.kind[c] == ResponseHead.CONNECTION) {
                connectionOptions(h, b, h.valueFrom[c], h.valueTo[c], true);
            }
        }
    }

    /** Which of the names the relay acts on this is, by length first. */
    private static int kind(byte[] b, int from, int to) {
        switch (to - from) {
            case 2:
                return HeaderBytes.spells(b, from, to, TE) ? ResponseHead.DROPPED : ResponseHead.OTHER;
            case 7:
                return HeaderBytes.spells(b, from, to, TRAILER) || HeaderBytes.spells(b, from, to, UPGRADE)
                        ? ResponseHead.DROPPED : ResponseHead.OTHER;
            case 10:
                if (HeaderBytes.spells(b, from, to, CONNECTION)) {
                    return ResponseHead.CONNECTION;
                }
                return HeaderBytes.spells(b, from, to, KEEP_ALIVE) || HeaderBytes.spells(b, from, to, SET_COOKIE)
                        ? ResponseHead.DROPPED : ResponseHead.OTHER;
            case 11:
                return HeaderBytes.spells(b, from, to, RETRY_AFTER) ? ResponseHead.RETRY_AFTER : ResponseHead.OTHER;
            case 12:
                if (HeaderBytes.spells(b, from, to, CONTENT_TYPE)) {
                    return ResponseHead.CONTENT_TYPE;
                }
                return HeaderBytes.spells(b, from, to, X_REQUEST_ID) ? ResponseHead.DROPPED : ResponseHead.OTHER;
            case 14:
                return HeaderBytes.spells(b, from, to, CONTENT_LENGTH) ? ResponseHead.CONTENT_LENGTH : ResponseHead.OTHER;
            case 16:
                return HeaderBytes.spells(b, from, to, PROXY_CONNECTION) ? ResponseHead.DROPPED : ResponseHead.OTHER;
            case 17:
                return HeaderBytes.spells(b, from, to, TRANSFER_ENCODING) ? ResponseHead.TRANSFER_ENCODING : ResponseHead.OTHER;
            case 18:
                return HeaderBytes.spells(b, from, to, PROXY_AUTHENTICATE) ? ResponseHead.DROPPED : ResponseHead.OTHER;
            case 19:
                return HeaderBytes.spells(b, from, to, PROXY_AUTHORIZATION)
                        || HeaderBytes.spells(b, from, to, X_PROXY_DURATION_MS) ? ResponseHead.DROPPED : ResponseHead.OTHER;
            default:
                return ResponseHead.OTHER;
        }
    }

    // ---- body ------------------------------------------------------------------------------

    /** Frames body bytes from {@code index}; returns where it stopped (the body's end or the piece's), or -1 on failure. */
    private int readBody(ByteBuf in, int index, int end, Listener listener) {
        int p = index;
        while (p < end && state != State.DONE) {
            switch (state) {
                case LENGTH, CHUNK_DATA -> {
                    int n = (int) Math.min(remaining, end - p);
                    listener.onResponseData(in, p, n);
                    p += n;
                    remaining -= n;
                    if (remaining == 0) {
                        state = state == State.LENGTH ? State.DONE : State.CHUNK_DATA_CR;
                    }
                }
                case UNTIL_CLOSE -> {
                    listener.onResponseData(in, p, end - p);
                    p = end;
                }
                default -> {
                    String problem = frame(in.getByte(p++));
                    if (problem != null) {
                        fail(listener, problem);
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
            return "the trailer section is larger than upstream.max_response_header_bytes";
        }
        return null;
    }

    private static byte[] ascii(String word) {
        return word.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }

    private static int hexDigit(byte c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        int lower = c | 0x20;
        return lower >= 'a' && lower <= 'f' ? lower - 'a' + 10 : -1;
    }

    private int fail(Listener listener, String what) {
        state = State.DONE;
        partialLength = 0;
        listener.onResponseMalformed(what);
        return -1;
    }
}
