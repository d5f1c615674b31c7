package dev.keyswap.pipeline;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;

/**
 * An upstream response head as {@link UpstreamResponseReader} read it: the bytes as received and
 * where each field lies in them, with what the relay needs to know already picked out (framing,
 * keep-alive, content type) and the fields that must not reach the client already marked. The
 * client's head is written from these bytes ({@link ClientResponseHead}); no header object is
 * built for a relayed response.
 *
 * <p>Valid only during {@link UpstreamResponseReader.Listener#onResponseHead}: the reader reuses
 * it, and its bytes, for the next response.
 */
final class ResponseHead {
    /** Names the relay recognises in a response head; {@link #OTHER} for any other. */
    static final int OTHER = 0;
    static final int CONTENT_LENGTH = 1;
    static final int TRANSFER_ENCODING = 2;
    static final int CONNECTION = 3;
    static final int CONTENT_TYPE = 4;
    static final int RETRY_AFTER = 5;
    /** Hop-by-hop (RFC 9110 section 7.6.1) or never relayed (Set-Cookie), or set by Keyswap itself. */
    static final int DROPPED = 6;

    byte[] bytes;
    /** The head's length in {@link #bytes}, its final empty line included. */
    int length;
    int status;
    boolean http11;
    /** The status line from the space before the code to the end of the reason, without its line end. */
    int statusFrom;
    int statusTo;
    int fields;
    int[] nameFrom = new int[32];
    int[] nameTo = new int[32];
    int[] valueFrom = new int[32];
    int[] valueTo = new int[32];
    int[] kind = new int[32];
    boolean[] dropped = new boolean[32];

    /** The body's length as announced, or -1. */
    long contentLength;
    boolean chunked;
    boolean connectionClose;
    boolean connectionKeepAlive;
    /** Connection names a field other than close and keep-alive (to be dropped too). */
    boolean connectionNominates;
    int contentTypeField;
    int retryAfterField;

    void clear() {
        length = 0;
        fields = 0;
        contentLength = -1;
        chunked = false;
        connectionClose = false;
        connectionKeepAlive = false;
        connectionNominates = false;
        contentTypeField = -1;
        retryAfterField = -1;
    }

    /** Room for one more field. */
    void grow() {
        if (fields == kind.length) {
            int n = fields * 2;
            nameFrom = java.util.Arrays.copyOf(nameFrom, n);
            nameTo = java.util.Arrays.copyOf(nameTo, n);
            valueFrom = java.util.Arrays.copyOf(valueFrom, n);
            valueTo = java.util.Arrays.copyOf(valueTo, n);
            kind = java.util.Arrays.copyOf(kind, n);
            dropped = java.util.Arrays.copyOf(dropped, n);
        }
    }

    /** The upstream keeps the connection open after this response (RFC 9112 section 9.3). */
    boolean keepAlive() {
        return !connectionClose && (http11 || connectionKeepAlive);
    }

    String value(int field) {
        return field < 0 ? null : new String(bytes, valueFrom[field], valueTo[field] - valueFrom[field], StandardCharsets.ISO_8859_1);
    }

    String contentType() {
        return value(contentTypeField);
    }

    String retryAfter() {
        return value(retryAfterField);
    }

    /** Marks every field of this name dropped: the relay sets its own value in the client's head. */
    void drop(AsciiString name) {
        drop(name.array(), name.arrayOffset(), name.arrayOffset() + name.length());
    }

    /** Marks every field named {@code name[from, to)} dropped, ignoring ASCII case. */
    void drop(byte[] name, int from, int to) {
        for (int i = 0; i < fields; i++) {
            if (!dropped[i] && HeaderBytes.sameIgnoringCase(bytes, nameFrom[i], nameTo[i], name, from, to)) {
                dropped[i] = true;
            }
        }
    }

    /**
     * The head as a Netty response, every field included: for the rare responses the relay
     * handles as objects (a WebSocket's 101).
     */
    HttpResponse toHttpResponse() {
        String reason = new String(bytes, statusFrom + 5, Math.max(0, statusTo - statusFrom - 5), StandardCharsets.ISO_8859_1);
        DefaultHttpHeaders headers = new DefaultHttpHeaders();
        for (int i = 0; i < fields; i++) {
            headers.add(new String(bytes, nameFrom[i], nameTo[i] - nameFrom[i], StandardCharsets.ISO_8859_1), value(i));
        }
        return new DefaultHttpResponse(http11 ? HttpVersion.HTTP_1_1 : HttpVersion.HTTP_1_0,
                HttpResponseStatus.valueOf(status, reason.strip()), headers);
    }
}
