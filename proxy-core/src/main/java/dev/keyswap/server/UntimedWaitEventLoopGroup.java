package dev.keyswap.server;

import io.netty.channel.IoEventLoop;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SingleThreadIoEventLoop;
import java.util.concurrent.Executor;

/**
 * Netty's event loops, except that one with nothing scheduled waits for I/O without a timeout.
 *
 * <p>Netty 4.2's loops report a deadline one second ahead when no task is scheduled (to purge
 * cancelled scheduled tasks, which a cancel on the loop now removes at once), although the I/O
 * handlers read "no deadline" as {@code -1}. So every wait got a timeout: under io_uring a TIMEOUT
 * submission and its completion (one per wait, so two per request at c=1), under epoll a timerfd
 * update. Keyswap keeps its own timers off the loops ({@link dev.keyswap.upstream.OffLoopTimer}), so
 * a loop here usually has nothing scheduled and waits for I/O alone. A task scheduled on it (a
 * connect timeout, a TLS handshake's) still gets its timeout, as before.
 */
final class UntimedWaitEventLoopGroup extends MultiThreadIoEventLoopGroup {

    UntimedWaitEventLoopGroup(int threads, IoHandlerFactory ioHandlerFactory) {
        super(threads, ioHandlerFactory);
    }

    @Override
    protected IoEventLoop newChild(Executor executor, IoHandlerFactory ioHandlerFactory, Object... args) {
        return new SingleThreadIoEventLoop(this, executor, ioHandlerFactory) {
            @Override
            protected long deadlineNanos() {
                return nextScheduledTaskDeadlineNanos(); // -1 when nothing is scheduled
            }
        };
    }
}
