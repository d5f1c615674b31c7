package dev.keyswap.pipeline;

/**
 * One step a request head takes between the guard and the relay (endpoints, route, auth, rate
 * limit, key swap, WebSocket cap), run by {@link HeadSteps}. A step either hands the request on
 * with {@link HeadSteps#proceed}, at once or later on the channel's event loop (after a token
 * load), or answers it itself (an error, {@code /healthz}) and stops there.
 */
public interface HeadStep {
    void onHead(HeadSteps steps, InboundRequest request);
}
