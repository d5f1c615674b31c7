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
    interface Listener extends BodyFraming.Data {
        /**
         * A final response head (101, or 200 and above; other informational heads are skipped).
         * Returns false when the exchange stops reading this connection.
         */
        boolean onResponseHead(ResponseHead head, ByteBuf in, int bodyIndex);

        /**
         * The body's bytes in this piece as they came, framing included, after their data was
         * reported: {@code in[index, index + length)}, valid during the call.
         */
        void onResponseBytes(ByteBuf in, int index, int length);

        /** The response is complete; {@code moreBytes}: the upstream sent bytes after it. */
        void onResponseEnd(boolean moreBytes);

        void onResponseMalformed(String what);
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

    private final int maxHeadBytes;
    private final ResponseHead head = new ResponseHead();
    private final BodyFraming body;
    /** The next bytes are a head's (else the body's, until it is done). */
    private boolean awaitingHead;
    private boolean headRequest;
    /** A head's bytes from earlier pieces, while it is incomplete. */
    private byte[] partial;
    private int partialLength;

    UpstreamResponseReader(int maxHeadBytes) {
        this.maxHeadBytes = maxHeadBytes;
        this.body = new BodyFraming(maxHeadBytes, "upstream.max_response_header_bytes");
    }

    /** Ready for the response to a new request; {@code headRequest}: it can have no body. */
    void reset(boolean headRequest) {
        this.headRequest = headRequest;
        awaitingHead = true;
        body.done();
        partialLength = 0;
        if (partial != null && partial.length > HEAD_WINDOW) {
            partial = null;
        }
    }

    /** The response's body runs until the connection closes, and has not ended. */
    boolean endsAtClose() {
        return body.endsAtClose();
    }

    /** The upstream closed: true when that ends the response (a body delimited by the close). */
    boolean closed() {
        if (body.endsAtClose()) {
            body.done();
            return true;
        }
        return false;
    }

    /** Reads a piece of the upstream's bytes; never keeps it or changes its indices. */
    void read(ByteBuf in, Listener listener) {
        int index = in.readerIndex();
        int end = in.writerIndex();
        while (index < end) {
            if (awaitingHead) {
                index = readHead(in, index, end, listener);
                if (index < 0) {
                    return;
                }
                continue;
            }
            if (body.isDone()) {
                return;
            }
            int bodyFrom = index;
            index = body.read(in, index, end, listener);
            if (index < 0) {
                fail(listener, body.problem());
                return;
            }
            if (index > bodyFrom) {
                listener.onResponseBytes(in, bodyFrom, index - bodyFrom);
            }
            if (body.isDone()) {
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
        awaitingHead = false;
        if (status == 101 || headRequest || status == 204 || status == 304) {
            body.done();
        } else if (head.chunked) {
            body.chunked();
        } else if (head.contentLength >= 0) {
            body.length(head.contentLength);
        } else {
            body.untilClose();
        }
        if (!listener.onResponseHead(head, in, bodyIndex)) {
            // The exchange left this connection; it may already have reset this reader for the
            // next one (a retry on a pooled connection), so nothing here is touched again.
            return -1;
        }
        if (body.isDone()) {
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

    /** The index just past the head's empty line in {@code b[from, to)} (CRLF or bare LF line ends), or -1. */
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
        if (b[9] < '1' || b[9] > '5' || !HeadFields.digit(b[10]) || !HeadFields.digit(b[11])) {
            return "the status code is not three digits from 100 to 599";
        }
        h.status = (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');
        h.statusFrom = 8;
        int p = 12;
        if (b[p] == ' ') {
            p = ByteScan.fieldValueEnd(b, p, length);
        }
        h.statusTo = p;
        p = HeadFields.lineEnd(b, p);
        if (p < 0) {
            return "the status line has a control character";
        }
        String problem = h.parseFields(p);
        if (problem != null) {
            return problem;
        }
        if (h.chunked && h.contentLength >= 0) {
            return "the response has both Content-Length and Transfer-Encoding";
        }
        if (h.chunked && !h.http11) {
            // RFC 9112 section 6.1: faulty framing, whatever else the head says.
            return "an HTTP/1.0 response has a Transfer-Encoding";
        }
        if (h.connectionNominates) {
            h.dropNominated();
        }
        return null;
    }

    private int fail(Listener listener, String what) {
        awaitingHead = false;
        body.done();
        partialLength = 0;
        listener.onResponseMalformed(what);
        return -1;
    }
}
