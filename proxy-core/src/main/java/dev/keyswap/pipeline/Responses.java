package dev.keyswap.pipeline;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import java.util.Map;

/**
 * Writing a response Keyswap answers itself, and what follows for the connection: it stays open
 * only when the request asked for keep-alive and had no body still unread (we never read a body
 * just to discard it); otherwise it closes once the response is out.
 */
public final class Responses {
    // AsciiStrings, as Netty's own header names: their hash is cached and their validation is a
    // byte loop, where a String name is hashed and validated char by char on every set.
    public static final AsciiString REQUEST_ID = AsciiString.cached("x-request-id");
    public static final AsciiString PROXY_DURATION = AsciiString.cached("x-proxy-duration-ms");
    private static final String JSON = "application/json";

    private Responses() {
    }

    public static void error(ChannelHandlerContext ctx, InboundRequest request, ProxyError error) {
        answer(ctx, request, errorResponse(ctx, request, error));
    }

    /** The error in SPEC's shape for this request: its id, and the headers it carries (rate limits). */
    static FullHttpResponse errorResponse(ChannelHandlerContext ctx, InboundRequest request, ProxyError error) {
        FullHttpResponse response = json(ctx, error.status(), error.toJson(request.requestId));
        response.headers().set(REQUEST_ID, request.requestId);
        for (Map.Entry<AsciiString, String> h : request.responseHeaders) {
            response.headers().set(h.getKey(), h.getValue());
        }
        return response;
    }

    /**
     * The response as it may go to this request: without its body for a HEAD request (RFC 9110
     * section 9.3.2), its Content-Length kept. The client's encoder does not know the request's
     * method (the relay writes relayed responses below it), so each answer is cut here.
     */
    static FullHttpResponse forMethod(InboundRequest request, FullHttpResponse response) {
        if (request.head.method != HttpMethod.HEAD) {
            return response;
        }
        FullHttpResponse head = response.replace(Unpooled.EMPTY_BUFFER);
        response.release();
        return head;
    }

    /**
     * For requests the reader refuses (malformed ones, a body over the limit by its
     * Content-Length), whose body, if any, is never read: always closes, after reading what the
     * client still sends for a while ({@link LingeringClose}), so that it sees this answer and
     * not a reset.
     */
    public static void errorAndClose(ChannelHandlerContext ctx, String requestId, ProxyError error) {
        FullHttpResponse response = json(ctx, error.status(), error.toJson(requestId));
        response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        ctx.writeAndFlush(response).addListener(LingeringClose.AFTER_WRITE);
    }

    public static FullHttpResponse json(ChannelHandlerContext ctx, HttpResponseStatus status, String body) {
        ByteBuf content = ByteBufUtil.writeUtf8(ctx.alloc(), body);
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, content);
        response.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, JSON)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
        return response;
    }

    /**
     * Sends a complete response to {@code request} and either asks for the next request or
     * closes.
     */
    public static void answer(ChannelHandlerContext ctx, InboundRequest request, FullHttpResponse whole) {
        FullHttpResponse response = forMethod(request, whole);
        response.headers().set(REQUEST_ID, request.requestId);
        boolean keepAlive = request.keepAlive && !request.hasBody;
        if (keepAlive) {
            ctx.writeAndFlush(response);
            ctx.read();
        } else {
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            // A body left unread is the client's to finish sending before the close.
            ctx.writeAndFlush(response).addListener(request.hasBody ? LingeringClose.AFTER_WRITE : ChannelFutureListener.CLOSE);
        }
    }
}
