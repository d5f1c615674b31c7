package dev.keyswap.usage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class UsageLogTest {
    private static final Duration AN_HOUR = Duration.ofHours(1);

    /** Collects what the sink receives; the sink runs on the writer thread only. */
    private static final class RecordingSink implements Consumer<List<UsageRecord>> {
        final List<List<UsageRecord>> batches = new CopyOnWriteArrayList<>();

        @Override
        public void accept(List<UsageRecord> batch) {
            batches.add(batch);
        }

        List<String> requestIds() {
            List<String> ids = new ArrayList<>();
            batches.forEach(batch -> batch.forEach(r -> ids.add(r.requestId())));
            return ids;
        }
    }

    @Test
    void tenThousandRecordsFromFourThreadsEachReachTheSinkExactlyOnce() throws Exception {
        RecordingSink sink = new RecordingSink();
        try (UsageLog usageLog = new UsageLog(sink, 10_000, 64, Duration.ofMillis(5))) {
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int thread = t;
                threads.add(new Thread(() -> {
                    for (int i = 0; i < 2_500; i++) {
                        assertTrue(usageLog.record(record("t" + thread + "-" + i)));
                    }
                }));
            }
            threads.forEach(Thread::start);
            for (Thread thread : threads) {
                thread.join();
            }
            usageLog.flush();

            List<String> ids = sink.requestIds();
            assertEquals(10_000, ids.size());
            assertEquals(10_000, new HashSet<>(ids).size());
            assertEquals(10_000, usageLog.writtenCount());
            assertEquals(0, usageLog.droppedCount());
            assertTrue(sink.batches.stream().allMatch(batch -> batch.size() <= 64));
        }
    }

    @Test
    void fullQueueDropsAndCountsInsteadOfBlocking() throws Exception {
        CountDownLatch sinkEntered = new CountDownLatch(1);
        CountDownLatch releaseSink = new CountDownLatch(1);
        List<String> written = new CopyOnWriteArrayList<>();
        try (UsageLog usageLog = new UsageLog(batch -> {
            sinkEntered.countDown();
            await(releaseSink);
            batch.forEach(r -> written.add(r.requestId()));
        }, 2, 1, AN_HOUR)) {
            assertTrue(usageLog.record(record("in-sink")));
            assertTrue(sinkEntered.await(10, TimeUnit.SECONDS));
            assertTrue(usageLog.record(record("queued-1")));
            assertTrue(usageLog.record(record("queued-2")));

            long start = System.nanoTime();
            assertFalse(usageLog.record(record("dropped-1")));
            assertFalse(usageLog.record(record("dropped-2")));
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(1), "record() must not wait");
            assertEquals(2, usageLog.droppedCount());

            releaseSink.countDown();
            usageLog.flush();
            assertEquals(List.of("in-sink", "queued-1", "queued-2"), written);
            assertEquals(3, usageLog.writtenCount());
        }
    }

    @Test
    void flushWritesAPartialBatchWithoutWaitingForTheInterval() {
        RecordingSink sink = new RecordingSink();
        try (UsageLog usageLog = new UsageLog(sink, 100, 50, AN_HOUR)) {
            usageLog.record(record("a"));
            usageLog.record(record("b"));
            usageLog.record(record("c"));
            usageLog.flush();
            assertEquals(List.of("a", "b", "c"), sink.requestIds());
        }
    }

    @Test
    void flushBlocksUntilTheSinkHasTakenEarlierRecords() throws Exception {
        CountDownLatch releaseSink = new CountDownLatch(1);
        List<String> written = new CopyOnWriteArrayList<>();
        try (UsageLog usageLog = new UsageLog(batch -> {
            await(releaseSink);
            batch.forEach(r -> written.add(r.requestId()));
        }, 100, 10, Duration.ofMillis(1))) {
            usageLog.record(record("slow"));
            CompletableFuture<Void> flushed = CompletableFuture.runAsync(usageLog::flush);
            Thread.sleep(200);
            assertFalse(flushed.isDone(), "flush returned while the sink still held the record");

            releaseSink.countDown();
            flushed.get(10, TimeUnit.SECONDS);
            assertEquals(List.of("slow"), written);
        }
    }

    @Test
    void aPartialBatchIsWrittenWithinTheFlushInterval() throws Exception {
        CountDownLatch written = new CountDownLatch(1);
        try (UsageLog usageLog = new UsageLog(batch -> written.countDown(), 100, 1_000, Duration.ofMillis(50))) {
            long start = System.nanoTime();
            usageLog.record(record("lonely"));
            assertTrue(written.await(10, TimeUnit.SECONDS));
            long waitedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(waitedMillis >= 40, "written after " + waitedMillis + " ms, before the interval");
            assertTrue(waitedMillis < 5_000, "written after " + waitedMillis + " ms");
        }
    }

    @Test
    void anIdleWriterSleepsWithoutADeadlineUntilTheNextRecord() throws Exception {
        AtomicReference<Thread> writer = new AtomicReference<>();
        java.util.concurrent.LinkedBlockingQueue<Long> writtenAt = new java.util.concurrent.LinkedBlockingQueue<>();
        try (UsageLog usageLog = new UsageLog(batch -> {
            writer.set(Thread.currentThread());
            writtenAt.add(System.nanoTime());
        }, 100, 1_000, Duration.ofMillis(50))) {
            usageLog.record(record("first"));
            assertTrue(writtenAt.poll(10, TimeUnit.SECONDS) != null);
            // Nothing queued: the writer parks with no timeout (a timed wait would be TIMED_WAITING
            // and wake every interval for nothing).
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (writer.get().getState() != Thread.State.WAITING && System.nanoTime() < until) {
                Thread.sleep(5);
            }
            assertEquals(Thread.State.WAITING, writer.get().getState());
            Thread.sleep(200); // four intervals: it stays asleep
            assertEquals(Thread.State.WAITING, writer.get().getState());

            long recordedAt = System.nanoTime();
            usageLog.record(record("second"));
            Long second = writtenAt.poll(10, TimeUnit.SECONDS);
            assertTrue(second != null, "a record after a quiet spell must wake the writer");
            long waitedMillis = TimeUnit.NANOSECONDS.toMillis(second - recordedAt);
            assertTrue(waitedMillis >= 40, "written after " + waitedMillis + " ms, before the interval");
            assertEquals(2, usageLog.writtenCount());
        }
    }

    @Test
    void recordsArrivingAsTheWriterFallsAsleepAreNeverLeftBehind() throws Exception {
        // Each record is the only one queued, so the writer falls asleep after nearly every write:
        // a record that slipped between its look at the queue and its park would wait forever.
        RecordingSink sink = new RecordingSink();
        try (UsageLog usageLog = new UsageLog(sink, 100, 1_000, Duration.ofNanos(1))) {
            java.util.Random random = new java.util.Random(7);
            for (int i = 0; i < 2_000; i++) {
                assertTrue(usageLog.record(record("r" + i)));
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (usageLog.writtenCount() < i + 1) {
                    assertTrue(System.nanoTime() < until, "record " + i + " was never written");
                    Thread.onSpinWait();
                }
                if (random.nextInt(4) == 0) {
                    Thread.sleep(0, random.nextInt(50_000));
                }
            }
            assertEquals(2_000, sink.requestIds().size());
        }
    }

    @Test
    void closeDrainsEverythingQueuedAndThenRefusesRecords() {
        RecordingSink sink = new RecordingSink();
        UsageLog usageLog = new UsageLog(sink, 1_000, 7, AN_HOUR);
        for (int i = 0; i < 500; i++) {
            assertTrue(usageLog.record(record("r" + i)));
        }
        usageLog.close();

        assertEquals(500, sink.requestIds().size());
        assertEquals(500, usageLog.writtenCount());
        assertFalse(usageLog.record(record("late")));
        assertEquals(1, usageLog.droppedCount());
        usageLog.close(); // idempotent
        usageLog.flush(); // and flushing a closed log returns at once
        assertEquals(500, sink.requestIds().size());
    }

    @Test
    void writerIsOneDaemonThreadThatStopsOnClose() {
        AtomicReference<Thread> writer = new AtomicReference<>();
        UsageLog usageLog = new UsageLog(batch -> writer.set(Thread.currentThread()), 10, 10, AN_HOUR);
        usageLog.record(record("x"));
        usageLog.flush();
        assertEquals("keyswap-usage-writer", writer.get().getName());
        assertTrue(writer.get().isDaemon());

        usageLog.close();
        assertFalse(writer.get().isAlive());
    }

    @Test
    void sinkFailuresAreCountedAndTheWriterCarriesOn() {
        List<String> written = Collections.synchronizedList(new ArrayList<>());
        try (UsageLog usageLog = new UsageLog(batch -> {
            if (batch.get(0).requestId().startsWith("bad")) {
                throw new IllegalStateException("database is down");
            }
            batch.forEach(r -> written.add(r.requestId()));
        }, 100, 1, AN_HOUR)) {
            usageLog.record(record("good-1"));
            usageLog.record(record("bad-1"));
            usageLog.record(record("bad-2"));
            usageLog.record(record("good-2"));
            usageLog.flush();

            assertEquals(List.of("good-1", "good-2"), written);
            assertEquals(2, usageLog.failedCount());
            assertEquals(2, usageLog.writtenCount());
        }
    }

    @Test
    void concurrentRecordsDuringCloseAreEitherWrittenOrCountedAsDropped() throws Exception {
        RecordingSink sink = new RecordingSink();
        UsageLog usageLog = new UsageLog(sink, 100_000, 100, Duration.ofMillis(1));
        Set<String> accepted = Collections.synchronizedSet(new HashSet<>());
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int thread = t;
            threads.add(new Thread(() -> {
                for (int i = 0; i < 20_000; i++) {
                    String id = thread + "-" + i;
                    if (usageLog.record(record(id))) {
                        accepted.add(id);
                    }
                }
            }));
        }
        threads.forEach(Thread::start);
        Thread.sleep(2);
        usageLog.close();
        for (Thread thread : threads) {
            thread.join();
        }

        assertEquals(accepted, new HashSet<>(sink.requestIds()));
        assertEquals(80_000, accepted.size() + usageLog.droppedCount());
    }

    /**
     * A sink stuck for good (a hung disk) with the queue full: close() once waited forever to put
     * its stop marker in, and SIGTERM never reached its exit. It gives up at its timeout now.
     */
    @Test
    @Timeout(20)
    void closeGivesUpAtItsTimeoutWhenTheSinkIsStuckAndTheQueueFull() throws Exception {
        CountDownLatch writing = new CountDownLatch(1);
        CountDownLatch never = new CountDownLatch(1);
        UsageLog usageLog = new UsageLog(batch -> {
            writing.countDown();
            try {
                never.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, 1, 1, Duration.ofMillis(1), Duration.ofMillis(500));
        try {
            assertTrue(usageLog.record(record("req-1")));
            assertTrue(writing.await(5, TimeUnit.SECONDS), "the writer took the first record and is stuck on it");
            assertTrue(usageLog.record(record("req-2")), "the one place in the queue");
            assertFalse(usageLog.record(record("req-3")), "full");
            long start = System.nanoTime();
            usageLog.close();
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(ms >= 400 && ms < 5_000, "close returned after " + ms + " ms");
        } finally {
            never.countDown();
        }
    }

    private static UsageRecord record(String requestId) {
        return new UsageRecord(Instant.now(), requestId, "actor", "token", "openai", null, "POST",
                "/openai/v1/chat/completions", 200, 1_000, 500, 100, 200, "gpt-4o", 10L, 20L, 0.0001);
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
