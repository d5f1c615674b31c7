package dev.keyswap.pipeline;

import io.netty.channel.ChannelHandlerContext;
import java.util.concurrent.CompletableFuture;

/**
 * How a handler waits for the JDBC executor without blocking its event loop: a completed future
 * continues at once (the cache-hit path); otherwise the request is parked, and resumes on its own
 * channel's event loop when the answer comes. Nobody calls read() meanwhile, so the
 * {@link RequestReader} holds back any body bytes already received.
 */
final class Parking {
    private Parking() {
    }

    static void whenDone(ChannelHandlerContext ctx, CompletableFuture<?> future, Runnable then) {
        if (future.isDone()) {
            then.run();
        } else {
            future.whenComplete((value, error) -> ctx.executor().execute(then));
        }
    }
}
