package dev.keyswap.pipeline;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.LongAdder;

/**
 * How a head step waits for the JDBC executor without blocking its event loop: a completed future
 * continues at once (the cache-hit path); otherwise the request is parked, and resumes on its own
 * channel's event loop when the answer comes. Nobody calls read() meanwhile, so the
 * {@link RequestReader} holds back any body bytes already received.
 *
 * <p>A parked request is counted ({@link RelayMetrics#parked()}) from the moment it parks until
 * its step has run again, by when the request has been answered, has parked anew or has become an
 * exchange ({@link RelayMetrics#active()}): so the drain, which waits for both counts, never sees
 * a request accepted before it as finished while its token or credential is still being looked up
 * (it used to close such a connection with no answer at all).
 */
final class Parking {
    private Parking() {
    }

    static void whenDone(HeadSteps steps, CompletableFuture<?> future, Runnable then) {
        if (future.isDone()) {
            then.run();
            return;
        }
        LongAdder parked = steps.parked();
        parked.increment();
        future.whenComplete((value, error) -> {
            try {
                steps.ctx().executor().execute(() -> {
                    try {
                        then.run();
                    } finally {
                        parked.decrement();
                    }
                });
            } catch (RejectedExecutionException e) {
                parked.decrement(); // the loops are shutting down: nothing will resume it
            }
        });
    }
}
