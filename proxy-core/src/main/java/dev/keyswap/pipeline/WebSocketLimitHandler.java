package dev.keyswap.pipeline;

import dev.keyswap.policy.SocketLimiter;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * Caps the WebSockets one key holds open at once. Placed right before the relay: from here a
 * request can only become an exchange, which gives the slot back when it fails or, once
 * upgraded, when the socket closes.
 */
public final class WebSocketLimitHandler extends ChannelInboundHandlerAdapter {
    private final SocketLimiter limiter;
    private final int maxPerKey;

    public WebSocketLimitHandler(SocketLimiter limiter, int maxPerKey) {
        this.limiter = limiter;
        this.maxPerKey = maxPerKey;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof InboundRequest request && request.webSocket) {
            if (!limiter.tryAcquire(request.apiKey.id(), maxPerKey)) {
                Responses.error(ctx, request, ProxyError.rateLimited("too_many_sockets",
                        "this Keyswap token already holds " + maxPerKey + " open WebSockets"));
                return;
            }
            request.socketSlot = () -> limiter.release(request.apiKey.id());
        }
        ctx.fireChannelRead(msg);
    }
}
