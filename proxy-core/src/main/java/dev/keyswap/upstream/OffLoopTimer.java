package dev.keyswap.upstream;

import io.netty.util.concurrent.EventExecutor;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Timers for event-loop work, kept on a thread of their own: when one fires, its task is handed to
 * the loop it belongs to and runs there.
 *
 * <p>Why not the loop's own {@code schedule}: a Netty event loop with any task scheduled waits for
 * I/O with a timeout, and under io_uring that is one more submission and one more completion in
 * every wait (Netty adds a TIMEOUT entry to each), under epoll a timerfd update. Keyswap's timers
 * (idle connections, the response-header deadline, pool sweeps) are always pending and seldom
 * fire, so with them here the loops wait with no timeout at all: ~3 % less CPU per request at c=1,
 * where each request is two waits (docs/performance.md, "The morning's round", 2026-11-24).
 *
 * <p>One per server; {@link #close()} cancels whatever is pending.
 */
public final class OffLoopTimer implements AutoCloseable {
    private final ScheduledThreadPoolExecutor timer;

    public OffLoopTimer() {
        timer = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "keyswap-timer");
            t.setDaemon(true);
            return t;
        });
        // A cancelled timer (most are: an idle check moved by traffic) leaves the queue at once.
        timer.setRemoveOnCancelPolicy(true);
    }

    /** Runs {@code task} on {@code loop} after {@code delay}, unless cancelled before it is handed over. */
    public ScheduledFuture<?> schedule(EventExecutor loop, Runnable task, long delay, TimeUnit unit) {
        return timer.schedule(() -> loop.execute(task), delay, unit);
    }

    /** Runs {@code task} on {@code loop} every {@code period} until cancelled (or the loop shuts down). */
    public ScheduledFuture<?> scheduleAtFixedRate(EventExecutor loop, Runnable task, long period, TimeUnit unit) {
        return timer.scheduleAtFixedRate(() -> loop.execute(task), period, period, unit);
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
