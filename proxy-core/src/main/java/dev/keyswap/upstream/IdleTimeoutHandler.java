package dev.keyswap.upstream;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.concurrent.Ticker;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Fires {@link IdleStateEvent#ALL_IDLE_STATE_EVENT} when a connection has neither finished a read
 * batch nor flushed a write for the timeout; the handlers after it decide what idle means. It
 * also keeps one optional deadline ({@link #deadlineIn}) and fires {@link #DEADLINE_PASSED} if it
 * is not cleared in time: the upstream side uses it for the response-header timeout.
 *
 * <p>Why not Netty's {@code IdleStateHandler}: it stamps a write when the write completes, so it
 * turns every void promise into a real one and listens on it, which cost ~8 % of the event loop's
 * time per proxied request (proxy-bench profile). Stamping on flush and on read-complete is all
 * an idle timeout needs: a peer that stops reading stops our flushes too (backpressure), and so
 * still goes idle.
 *
 * <p>Why the deadline lives here: one timer per connection serves both. A per-request timer was
 * scheduled and cancelled for every proxied request (a task allocated, a priority queue insert
 * and removal); now setting a deadline later than the next idle check costs two field writes.
 */
public final class IdleTimeoutHandler extends ChannelDuplexHandler implements Runnable {
    /** The user event fired when a deadline passes. */
    public static final Object DEADLINE_PASSED = new Object() {
        @Override
        public String toString() {
            return "DEADLINE_PASSED";
        }
    };

    private final long timeoutNanos;
    /** Where the check is scheduled: off the loop, or (null) on the loop itself, as tests use it. */
    private final OffLoopTimer timer;
    private ChannelHandlerContext ctx;
    /** The event loop's clock, which its timers also run on (and tests can move). */
    private Ticker ticker;
    private boolean armed;
    private ScheduledFuture<?> check;
    /**
     * Which scheduled check is the current one: one that fired off the loop just as the loop
     * cancelled it still reaches the loop, and must find nothing to do.
     */
    private int checkNumber;
    /** When {@link #check} runs, on {@link #ticker}. */
    private long checkAt;
    private long lastActivity;
    private boolean hasDeadline;
    private long deadline;

    /**
     * @param timeoutMillis idle timeout, 0 for none (deadlines still work); checks scheduled on the
     *     loop, whose clock a test's EmbeddedChannel can move
     */
    IdleTimeoutHandler(long timeoutMillis) {
        this(timeoutMillis, null);
    }

    /**
     * @param timeoutMillis idle timeout, 0 for none (deadlines still work)
     * @param timer where checks wait, so the event loop has no scheduled task of ours; null: on the loop
     */
    public IdleTimeoutHandler(long timeoutMillis, OffLoopTimer timer) {
        this.timeoutNanos = TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        this.timer = timer;
    }

    /** Fires {@link #DEADLINE_PASSED} once, {@code nanos} from now, unless cleared or moved first. */
    public void deadlineIn(long nanos) {
        long now = ticker.nanoTime();
        hasDeadline = true;
        deadline = now + nanos;
        if (armed && (check == null || deadline - checkAt < 0)) {
            cancelCheck();
            scheduleCheck(now);
        }
    }

    /** Forgets the deadline; a check already scheduled for it finds nothing to do. */
    public void clearDeadline() {
        hasDeadline = false;
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
        if (!armed) {
            armed = true;
            lastActivity = ticker.nanoTime();
            scheduleCheck(lastActivity);
        }
    }

    private void disarm() {
        armed = false;
        cancelCheck();
    }

    private void cancelCheck() {
        if (check != null) {
            check.cancel(false);
            check = null;
            checkNumber++;
        }
    }

    /** Schedules the check for the earliest moment the idle timeout or the deadline could pass. */
    private void scheduleCheck(long now) {
        long delay = Long.MAX_VALUE;
        if (timeoutNanos > 0) {
            delay = lastActivity + timeoutNanos - now;
        }
        if (hasDeadline) {
            delay = Math.min(delay, deadline - now);
        }
        if (delay == Long.MAX_VALUE) {
            return;
        }
        delay = Math.max(delay, 0);
        checkAt = now + delay;
        if (timer == null) {
            check = ctx.executor().schedule(this, delay, TimeUnit.NANOSECONDS);
        } else {
            int number = ++checkNumber;
            check = timer.schedule(ctx.executor(), () -> {
                if (number == checkNumber) {
                    run();
                }
            }, delay, TimeUnit.NANOSECONDS);
        }
    }

    /** The timer: fires what has passed, then sleeps until the next moment something could. */
    @Override
    public void run() {
        check = null;
        if (!armed || !ctx.channel().isOpen()) {
            return;
        }
        long now = ticker.nanoTime();
        boolean idle = timeoutNanos > 0 && now - lastActivity >= timeoutNanos;
        if (idle) {
            lastActivity = now; // fires again only after another whole timeout without traffic
        }
        boolean deadlinePassed = hasDeadline && now - deadline >= 0;
        if (deadlinePassed) {
            hasDeadline = false;
        }
        scheduleCheck(now);
        if (deadlinePassed) {
            ctx.fireUserEventTriggered(DEADLINE_PASSED);
        }
        if (idle) {
            ctx.fireUserEventTriggered(IdleStateEvent.ALL_IDLE_STATE_EVENT);
        }
    }
}
