package dev.keyswap.pipeline;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.util.Set;

/**
 * CORS for browser apps (Fetch standard §3.2): preflights are answered 204 before any auth,
 * since browsers send them without credentials; every other response to a request from an
 * allowed Origin reflects that origin, with {@code Vary: Origin} so caches keep them apart.
 */
public final class CorsHandler extends ChannelDuplexHandler {
    /**
     * The handler for {@code cors.allowed_origins}: with none configured, only the refusal of
     * preflights, which never touches a response. Every response write passes each outbound
     * handler in the pipeline (~0.1 us a request at c=64), so the pass is saved where it could
     * never add a header.
     */
    public static ChannelHandler forOrigins(Set<String> allowedOrigins) {
        return allowedOrigins.isEmpty() ? new PreflightRefusal() : new CorsHandler(allowedOrigins);
    }

    static final String EXPOSED = "x-request-id, x-proxy-duration-ms, retry-after, ratelimit-limit, ratelimit-remaining, ratelimit-reset";
    private final Set<String> allowedOrigins;
    private final boolean anyOrigin;
    /** The allowed Origin of the request being answered, or null. */
    private String currentOrigin;

    private CorsHandler(Set<String> allowedOrigins) {
        this.allowedOrigins = Set.copyOf(allowedOrigins);
        this.anyOrigin = allowedOrigins.contains("*");
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof InboundRequest request) {
            String origin = request.head.get(HttpHeaderNames.ORIGIN);
            currentOrigin = origin != null && (anyOrigin || allowedOrigins.contains(origin)) ? origin : null;
            // For a relayed response, whose head is written as bytes below this handler.
            request.corsOrigin = currentOrigin;
            if (request.refusal == null && isPreflight(request)) {
                answerPreflight(ctx, request, origin);
                return;
            }
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof HttpResponse response && currentOrigin != null
                && response.status().code() >= 200) {
            allowOrigin(response.headers());
        }
        ctx.write(msg, promise);
    }

    private void allowOrigin(HttpHeaders h) {
        h.set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, currentOrigin);
        h.add(HttpHeaderNames.VARY, "Origin");
        h.set(HttpHeaderNames.ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSED);
    }

    private static boolean isPreflight(InboundRequest request) {
        RequestHead h = request.head;
        return h.method == HttpMethod.OPTIONS && h.contains(HttpHeaderNames.ORIGIN)
                && h.contains(HttpHeaderNames.ACCESS_CONTROL_REQUEST_METHOD);
    }

    private void answerPreflight(ChannelHandlerContext ctx, InboundRequest request, String origin) {
        if (currentOrigin == null) {
            refuse(ctx, request);
            return;
        }
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.NO_CONTENT);
        HttpHeaders h = response.headers();
        h.set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_METHODS, "GET, POST, PUT, PATCH, DELETE, OPTIONS");
        String requested = request.head.get(HttpHeaderNames.ACCESS_CONTROL_REQUEST_HEADERS);
        if (requested != null) {
            h.set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_HEADERS, requested);
        }
        h.set(HttpHeaderNames.ACCESS_CONTROL_MAX_AGE, "600");
        // Written from this handler's own context, so write() above does not see it.
        allowOrigin(h);
        Responses.answer(ctx, request, response);
    }

    private static void refuse(ChannelHandlerContext ctx, InboundRequest request) {
        Responses.error(ctx, request, ProxyError.forbidden("origin_not_allowed", "origin is not allowed"));
    }

    /** No origin is allowed: every preflight is refused, and nothing else is touched. */
    private static final class PreflightRefusal extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof InboundRequest request && request.refusal == null && isPreflight(request)) {
                refuse(ctx, request);
                return;
            }
            ctx.fireChannelRead(msg);
        }
    }
}
