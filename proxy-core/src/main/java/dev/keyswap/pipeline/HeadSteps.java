package dev.keyswap.pipeline;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.util.concurrent.atomic.LongAdder;

/**
 * The steps that act on request heads only, run in order as a chain of plain method calls inside
 * one handler, the way OkHttp runs interceptors; the relay gets the request once the last step
 * hands it on.
 *
 * <p>Why one handler and not one each: every handler in a pipeline is passed on every event that
 * crosses it — each head, each read-complete, and every write and flush of every response on the
 * way back out — and six handlers that only ever looked at heads were crossed for nothing on all
 * the other events. (The pipeline's traversal is ~8 % of Keyswap's CPU per proxied request in
 * async-profiler at c=64; this merge measured ~0.2 µs of it, within run-to-run noise.) The steps
 * are still one class each, in the order a request meets them, and no longer need the
 * {@code instanceof}-and-fire plumbing of a handler.
 *
 * <p>Body content never comes here: {@link RequestGuard} sends it on from this handler's context,
 * straight to the relay. A head a step holds (a token lookup) holds its content too, because
 * nobody calls {@code read()} meanwhile.
 */
public final class HeadSteps extends ChannelInboundHandlerAdapter {
    private final HeadStep[] steps;
    private final LongAdder parked;
    private ChannelHandlerContext ctx;

    /** @param metrics where requests parked by a step are counted (the drain waits for them) */
    public HeadSteps(RelayMetrics metrics, HeadStep... steps) {
        this.steps = steps.clone();
        this.parked = metrics.parked;
    }

    /** The connection's context: where a step answers from and parks on. */
    ChannelHandlerContext ctx() {
        return ctx;
    }

    LongAdder parked() {
        return parked;
    }

    /** Runs the request's next step, or gives the request to the relay after the last. */
    void proceed(InboundRequest request) {
        int next = request.headStepsDone++;
        if (next < steps.length) {
            steps[next].onHead(this, request);
        } else {
            ctx.fireChannelRead(request);
        }
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof InboundRequest request) {
            if (request.refusal != null) {
                Responses.errorAndClose(ctx, request.requestId, request.refusal);
                return;
            }
            proceed(request);
        } else {
            ctx.fireChannelRead(msg);
        }
    }
}
