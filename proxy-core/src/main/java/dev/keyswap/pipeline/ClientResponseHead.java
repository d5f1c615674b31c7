package dev.keyswap.pipeline;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.util.AsciiString;
import java.util.Map;

/**
 * The head of a relayed response as the client gets it, written as bytes: the upstream's status
 * and fields copied as they came, less the ones {@link ResponseHead} marked dropped, then the
 * fields Keyswap sets (framing, connection, request id, duration, the request's own fields, CORS).
 */
final class ClientResponseHead {
    private static final byte[] HTTP_1_1 = "HTTP/1.1".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private static final byte[] HTTP_1_0 = "HTTP/1.0".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private static final short CRLF = ('\r' << 8) | '\n';
    private static final int COLON_SPACE = (':' << 8) | ' ';
    private static final AsciiString CHUNKED = AsciiString.cached("chunked");
    private static final AsciiString CLOSE = AsciiString.cached("close");
    private static final AsciiString KEEP_ALIVE = AsciiString.cached("keep-alive");
    private static final AsciiString ORIGIN = AsciiString.cached("Origin");
    private static final AsciiString EXPOSED = AsciiString.cached(CorsHandler.EXPOSED);

    /** How the client's head frames the body and the connection, as the exchange decided it. */
    record Framing(boolean http11, boolean chunked, boolean close, boolean keepAliveField) {
    }

    private ClientResponseHead() {
    }

    /**
     * @param bodyRoom bytes of room kept behind the head, for the body's first bytes to join it
     *                 ({@link HeldBody})
     */
    static ByteBuf write(ByteBufAllocator alloc, ResponseHead upstream, InboundRequest request, Framing framing,
                         String duration, int bodyRoom) {
        for (Map.Entry<AsciiString, String> e : request.responseHeaders) {
            upstream.drop(e.getKey());
        }
        byte[] b = upstream.bytes;
        ByteBuf out = alloc.directBuffer(upstream.length + 256 + bodyRoom);
        out.writeBytes(framing.http11() ? HTTP_1_1 : HTTP_1_0);
        out.writeBytes(b, upstream.statusFrom, upstream.statusTo - upstream.statusFrom);
        if (upstream.statusTo - upstream.statusFrom == 4) {
            out.writeByte(' '); // the status line's space before an empty reason (RFC 9112 section 4)
        }
        out.writeShort(CRLF);
        int n = upstream.fields;
        for (int i = 0; i < n; i++) {
            if (!upstream.dropped[i]) {
                out.writeBytes(b, upstream.nameFrom[i], upstream.valueTo[i] - upstream.nameFrom[i]);
                out.writeShort(CRLF);
            }
        }
        if (framing.chunked()) {
            field(out, HttpHeaderNames.TRANSFER_ENCODING, CHUNKED);
        }
        if (framing.close()) {
            field(out, HttpHeaderNames.CONNECTION, CLOSE);
        } else if (framing.keepAliveField()) {
            field(out, HttpHeaderNames.CONNECTION, KEEP_ALIVE);
        }
        field(out, Responses.REQUEST_ID, request.requestId);
        field(out, Responses.PROXY_DURATION, duration);
        for (Map.Entry<AsciiString, String> e : request.responseHeaders) {
            field(out, e.getKey(), e.getValue());
        }
        if (request.corsOrigin != null) {
            field(out, HttpHeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, request.corsOrigin);
            field(out, HttpHeaderNames.VARY, ORIGIN);
            field(out, HttpHeaderNames.ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSED);
        }
        out.writeShort(CRLF);
        return out;
    }

    private static void field(ByteBuf out, AsciiString name, CharSequence value) {
        ByteBufUtil.copy(name, out);
        out.writeShort(COLON_SPACE);
        if (value instanceof AsciiString a) {
            ByteBufUtil.copy(a, out);
        } else {
            ByteBufUtil.writeAscii(out, value);
        }
        out.writeShort(CRLF);
    }
}
