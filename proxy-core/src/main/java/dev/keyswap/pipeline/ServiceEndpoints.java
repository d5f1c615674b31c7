package dev.keyswap.pipeline;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.FullHttpResponse;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Keyswap's own unauthenticated endpoints, answered before routing: {@code /healthz} (the
 * process serves), {@code /readyz} (and should get traffic: not draining) and {@code /metrics}
 * (Prometheus text). While draining, every other request is refused with 503 and a close, so a
 * load balancer moves the client elsewhere.
 */
public final class ServiceEndpoints extends ChannelInboundHandlerAdapter {
    private final BooleanSupplier draining;
    private final Supplier<String> metrics;

    public ServiceEndpoints(BooleanSupplier draining, Supplier<String> metrics) {
        this.draining = draining;
        this.metrics = metrics;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof InboundRequest request) {
            switch (request.path) {
                case "/healthz" -> {
                    Responses.answer(ctx, request, Responses.json(ctx, HttpResponseStatus.OK, "{\"status\":\"ok\"}"));
                    return;
                }
                case "/readyz" -> {
                    boolean ready = !draining.getAsBoolean();
                    Responses.answer(ctx, request, Responses.json(ctx,
                            ready ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE,
                            ready ? "{\"status\":\"ready\"}" : "{\"status\":\"draining\"}"));
                    return;
                }
                case "/metrics" -> {
                    FullHttpResponse response = Responses.json(ctx, HttpResponseStatus.OK, metrics.get());
                    response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
                    Responses.answer(ctx, request, response);
                    return;
                }
                default -> {
                    if (draining.getAsBoolean()) {
                        Responses.errorAndClose(ctx, request.requestId,
                                ProxyError.unavailable("draining", "Keyswap is shutting down; retry on another instance"));
                        return;
                    }
                }
            }
        }
        ctx.fireChannelRead(msg);
    }
}
