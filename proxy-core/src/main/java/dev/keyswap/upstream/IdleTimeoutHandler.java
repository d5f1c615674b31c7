package dev.keyswap.upstream;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.concurrent.ScheduledFuture;
import io.netty.util.concurrent.Ticker;
import java.util.concurrent.TimeUnit;

/**
 * Fires {@link IdleStateEvent#ALL_IDLE_STATE_EVENT} when a connection has neither finished a read
 * batch nor flushed a write for the timeout; the handlers after it decide what idle means.
 *
 * <p>Why not Netty's {@code IdleStateHandler}: it stamps a write when the write completes, so it
 * turns every void promise into a real one and listens on it, which cost ~8 % of the event loop's
 * time per proxied request (proxy-bench profile). Stamping on flush and on read-complete is all
 * an idle timeout needs: a peer that stops reading stops our flushes too (backpressure), and so
 * still goes idle.
 */
public final class IdleTimeoutHandler extends ChannelDuplexHandler implements Runnable {
    private final long timeoutNanos;
    private ChannelHandlerContext ctx;
    /** The event loop's clock, which its timers also run on (and tests can move). */
    private Ticker ticker;
    private ScheduledFuture<?> check;
    private long lastActivity;

    public IdleTimeoutHandler(long timeoutMillis) {
        this.timeoutNanos = TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.ticker = ctx.executor().ticker();
        if (ctx.channel().isActive() && ctx.channel().isRegistered()) {
            arm();
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        arm();
        ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        disarm();
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        disarm();
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        lastActivity = ticker.nanoTime();
        ctx.fireChannelReadComplete();
    }

    @Override
    public void flush(ChannelHandlerContext ctx) {
        lastActivity = ticker.nanoTime();
        ctx.flush();
    }

    private void arm() {
        if (check == null && timeoutNanos > 0) {
            lastActivity = ticker.nanoTime();
            check = ctx.executor().schedule(this, timeoutNanos, TimeUnit.NANOSECONDS);
        }
    }

    private void disarm() {
        if (check != null) {
            check.cancel(false);
            check = null;
        }
    }

    /** The timer: fires the event if idle, else sleeps until the earliest moment it could be. */
    @Override
    public void run() {
        if (check == null || !ctx.channel().isOpen()) {
            return;
        }
        long idle = ticker.nanoTime() - lastActivity;
        if (idle >= timeoutNanos) {
            check = ctx.executor().schedule(this, timeoutNanos, TimeUnit.NANOSECONDS);
            ctx.fireUserEventTriggered(IdleStateEvent.ALL_IDLE_STATE_EVENT);
        } else {
            check = ctx.executor().schedule(this, timeoutNanos - idle, TimeUnit.NANOSECONDS);
        }
    }
}
