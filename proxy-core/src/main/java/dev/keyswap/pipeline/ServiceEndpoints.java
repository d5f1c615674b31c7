package dev.keyswap.pipeline;

import io.netty.channel.ChannelHandlerContext;
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
public final class ServiceEndpoints implements HeadStep {
    private final BooleanSupplier draining;
    private final Supplier<String> metrics;

    public ServiceEndpoints(BooleanSupplier draining, Supplier<String> metrics) {
        this.draining = draining;
        this.metrics = metrics;
    }

    @Override
    public void onHead(HeadSteps steps, InboundRequest request) {
        ChannelHandlerContext ctx = steps.ctx();
        switch (request.path) {
            case "/healthz" -> Responses.answer(ctx, request, Responses.json(ctx, HttpResponseStatus.OK, "{\"status\":\"ok\"}"));
            case "/readyz" -> {
                boolean ready = !draining.getAsBoolean();
                Responses.answer(ctx, request, Responses.json(ctx,
                        ready ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE,
                        ready ? "{\"status\":\"ready\"}" : "{\"status\":\"draining\"}"));
            }
            case "/metrics" -> {
                FullHttpResponse response = Responses.json(ctx, HttpResponseStatus.OK, metrics.get());
                response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
                Responses.answer(ctx, request, response);
            }
            default -> {
                if (draining.getAsBoolean()) {
                    Responses.errorAndClose(ctx, request.requestId,
                            ProxyError.unavailable("draining", "Keyswap is shutting down; retry on another instance"));
                } else {
                    steps.proceed(request);
                }
            }
        }
    }
}
