package dev.keyswap.pipeline;

import dev.keyswap.policy.SocketLimiter;

/**
 * Caps the WebSockets one key holds open at once. The last step before the relay: from here a
 * request can only become an exchange, which gives the slot back when it fails or, once
 * upgraded, when the socket closes.
 */
public final class WebSocketLimitStep implements HeadStep {
    private final SocketLimiter limiter;
    private final int maxPerKey;

    public WebSocketLimitStep(SocketLimiter limiter, int maxPerKey) {
        this.limiter = limiter;
        this.maxPerKey = maxPerKey;
    }

    @Override
    public void onHead(HeadSteps steps, InboundRequest request) {
        if (request.webSocket) {
            if (!limiter.tryAcquire(request.apiKey.id(), maxPerKey)) {
                Responses.error(steps.ctx(), request, ProxyError.rateLimited("too_many_sockets",
                        "this Keyswap token already holds " + maxPerKey + " open WebSockets"));
                return;
            }
            request.socketSlot = () -> limiter.release(request.apiKey.id());
        }
        steps.proceed(request);
    }
}
