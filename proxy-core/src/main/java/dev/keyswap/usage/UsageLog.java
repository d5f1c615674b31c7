package dev.keyswap.usage;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Usage records go to a bounded queue (record() never blocks an event loop) and one writer
 * thread drains it in batches into the sink (a JDBC insert in one transaction). A full queue
 * drops the record and counts it; the count is exported in /metrics.
 *
 * <p>{@link #flush()} and {@link #close()} put markers in the queue behind every record already
 * accepted; because the queue is FIFO and has one consumer, a marker reached means everything
 * before it has been handed to the sink. A sink that throws loses that batch (counted in {@link
 * #failedCount()}); the writer carries on with the next.
 */
public final class UsageLog implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(UsageLog.class);

    /** How long close() waits for the writer to finish what is queued before giving up on it. */
    static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(30);
    /** For {@link #offerUntil}: wait for room however long it takes. */
    private static final long NO_DEADLINE = Long.MAX_VALUE;

    private static final Object STOP = new Object();

    private final Consumer<List<UsageRecord>> sink;
    private final int maxBatch;
    private final long flushIntervalNanos;
    /** Set (before an unpark) when the writer must not wait out its interval. */
    private volatile boolean urgent;
    /**
     * True while the writer, having found the queue empty, parks with no deadline: the next
     * record() must wake it. An idle Keyswap (a sidecar between bursts) then has no writer turns
     * at all, where a timed wait woke it once per flush interval for nothing.
     */
    private volatile boolean idle;
    /** Records queued since the writer last drained: wakes it early once a batch is ready. */
    private final java.util.concurrent.atomic.AtomicLong pending = new java.util.concurrent.atomic.AtomicLong();
    private final ArrayBlockingQueue<Object> queue;
    private final Thread writer;

    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong written = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();

    /**
     * Callers between their check of {@link #closed} and their offer. close() waits for this to
     * reach zero before queueing STOP, so no record can be accepted behind STOP and then lost.
     */
    private final AtomicInteger enqueueing = new AtomicInteger();
    private volatile boolean closed;
    private final AtomicBoolean closeStarted = new AtomicBoolean();
    private final long closeTimeoutNanos;

    /**
     * @param sink          writes one batch; called only from the writer thread
     * @param capacity      queue bound
     * @param maxBatch      largest batch handed to the sink
     * @param flushInterval longest a record waits before its batch is written
     */
    public UsageLog(Consumer<List<UsageRecord>> sink, int capacity, int maxBatch, Duration flushInterval) {
        this(sink, capacity, maxBatch, flushInterval, CLOSE_TIMEOUT);
    }

    /** @param closeTimeout how long {@link #close()} waits, in all, for the writer (tests shorten it) */
    UsageLog(Consumer<List<UsageRecord>> sink, int capacity, int maxBatch, Duration flushInterval, Duration closeTimeout) {
        this.closeTimeoutNanos = closeTimeout.toNanos();
        this.sink = Objects.requireNonNull(sink, "sink");
        if (capacity < 1 || maxBatch < 1) {
            throw new IllegalArgumentException("capacity and maxBatch must be positive");
        }
        if (flushInterval.isNegative() || flushInterval.isZero()) {
            throw new IllegalArgumentException("flushInterval must be positive");
        }
        this.maxBatch = maxBatch;
        this.flushIntervalNanos = flushInterval.toNanos();
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.writer = new Thread(this::runWriter, "keyswap-usage-writer");
        writer.setDaemon(true); // close() drains on shutdown; a forgotten log must not keep the JVM up
        writer.start();
    }

    /** Non-blocking. False (and counted as dropped) when the queue is full or the log is closed. */
    public boolean record(UsageRecord record) {
        Objects.requireNonNull(record, "record");
        enqueueing.incrementAndGet();
        try {
            if (!closed && queue.offer(record)) {
                if (pending.incrementAndGet() == maxBatch) {
                    hurry(); // a full batch need not wait out the interval
                } else if (idle) {
                    idle = false;
                    LockSupport.unpark(writer); // the first record after a quiet spell starts the interval
                }
                return true;
            }
        } finally {
            enqueueing.decrementAndGet();
        }
        dropped.incrementAndGet();
        return false;
    }

    public long droppedCount() {
        return dropped.get();
    }

    /** Records the sink accepted without throwing. */
    public long writtenCount() {
        return written.get();
    }

    /** Records lost because the sink threw while writing their batch. */
    public long failedCount() {
        return failed.get();
    }

    /** Blocks until every record accepted so far has been handed to the sink (or failed). */
    public void flush() {
        if (Thread.currentThread() == writer) {
            return; // a sink calling flush() would wait on itself; its own batch is being written
        }
        CountDownLatch done = new CountDownLatch(1);
        boolean queued = false;
        enqueueing.incrementAndGet();
        try {
            if (!closed) {
                offerUntil(done, NO_DEADLINE); // may wait for room: flush is allowed to block
                queued = true;
                hurry();
            }
        } finally {
            enqueueing.decrementAndGet();
        }
        if (queued) {
            awaitWriter(done);
        } else {
            joinWriter(System.nanoTime() + closeTimeoutNanos); // closing: the writer drains everything before it exits
        }
    }

    /** Stops accepting, writes what is queued, stops the writer thread. Idempotent. */
    @Override
    public void close() {
        // One deadline for all of it: with the queue full and the sink stuck (a hung disk), even
        // putting the stop marker in waited forever, and SIGTERM never reached its exit.
        long deadline = System.nanoTime() + closeTimeoutNanos;
        if (!closeStarted.compareAndSet(false, true)) {
            joinWriter(deadline);
            return;
        }
        closed = true;
        while (enqueueing.get() != 0) {
            LockSupport.parkNanos(10_000); // an offer in progress takes nanoseconds
        }
        if (offerUntil(STOP, deadline)) {
            hurry();
            joinWriter(deadline);
        }
        if (writer.isAlive()) {
            log.warn("Usage writer did not finish within {} ms; {} records still queued",
                    TimeUnit.NANOSECONDS.toMillis(closeTimeoutNanos), queue.size());
        }
    }

    /**
     * Puts {@code item} in the queue, waiting for room while the writer lives and until {@code
     * deadline} ({@link #NO_DEADLINE}: for as long as that takes); false if it could not.
     */
    private boolean offerUntil(Object item, long deadline) {
        boolean interrupted = false;
        try {
            while (writer.isAlive()) {
                long wait = TimeUnit.MILLISECONDS.toNanos(100);
                if (deadline != NO_DEADLINE) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        return false;
                    }
                    wait = Math.min(wait, left);
                }
                try {
                    if (queue.offer(item, wait, TimeUnit.NANOSECONDS)) {
                        return true;
                    }
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            return false;
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Writes once per flush interval whatever has queued meanwhile, or sooner when a batch's
     * worth, a flush or close asks for it. The writer never waits on the queue itself: an event
     * loop's offer() then finds no waiter to signal, so recording costs no thread wake-up per
     * request, and records arriving together share one transaction. Only when a write leaves the
     * queue empty does the writer sleep until the next record wakes it (at most one wake-up per
     * flush interval, and none while nothing is recorded).
     */
    private void runWriter() {
        List<Object> drained = new ArrayList<>(maxBatch);
        List<UsageRecord> batch = new ArrayList<>(maxBatch);
        long deadline = System.nanoTime() + flushIntervalNanos;
        while (true) {
            long wait;
            while (!urgent && (wait = deadline - System.nanoTime()) > 0) {
                LockSupport.parkNanos(this, wait);
            }
            boolean hurried = urgent;
            urgent = false;
            drained.clear();
            queue.drainTo(drained, maxBatch);
            if (!queue.isEmpty() && (hurried || queue.size() >= maxBatch)) {
                urgent = true; // more is waiting (a flush, a close, a backlog): go round again at once
            }
            int records = 0;
            for (Object item : drained) {
                if (item instanceof UsageRecord) {
                    records++;
                }
            }
            pending.addAndGet(-records);
            for (Object item : drained) {
                if (item == STOP) {
                    write(batch);
                    return;
                }
                if (item instanceof CountDownLatch marker) {
                    write(batch);
                    marker.countDown();
                } else {
                    batch.add((UsageRecord) item);
                }
            }
            write(batch);
            sleepWhileNothingIsQueued();
            deadline = System.nanoTime() + flushIntervalNanos;
        }
    }

    /**
     * Parks with no deadline while the queue stays empty. {@code idle} is set before the queue is
     * looked at, and record() reads it after its offer, so one of the two sees the other: either
     * this sees the record, or record() sees {@code idle} and unparks (a permit given before the
     * park makes the park return at once).
     */
    private void sleepWhileNothingIsQueued() {
        idle = true;
        while (!urgent && queue.isEmpty()) {
            LockSupport.park(this);
        }
        idle = false;
    }

    /** Wakes the writer before its interval is up. */
    private void hurry() {
        urgent = true;
        LockSupport.unpark(writer);
    }

    private void write(List<UsageRecord> batch) {
        if (batch.isEmpty()) {
            return;
        }
        int size = batch.size();
        try {
            sink.accept(List.copyOf(batch));
            written.addAndGet(size);
        } catch (Exception e) {
            failed.addAndGet(size);
            // Request ids only: records carry actors, paths and token ids that do not belong in logs.
            log.warn("Usage sink failed; {} records lost (request ids {} .. {})",
                    size, batch.get(0).requestId(), batch.get(size - 1).requestId(), e);
        } finally {
            batch.clear();
        }
    }

    /** Waits for a flush marker, or for the writer to die (a sink that threw an Error). */
    private void awaitWriter(CountDownLatch done) {
        boolean interrupted = false;
        try {
            while (writer.isAlive()) {
                try {
                    if (done.await(100, TimeUnit.MILLISECONDS)) {
                        return;
                    }
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void joinWriter(long deadline) {
        if (Thread.currentThread() == writer) {
            return; // a sink calling close() must not wait for itself
        }
        boolean interrupted = false;
        try {
            long left;
            while (writer.isAlive() && (left = deadline - System.nanoTime()) > 0) {
                try {
                    writer.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
