package dev.keyswap.bench.jmh;

import dev.keyswap.store.Database;
import dev.keyswap.store.UsageStore;
import dev.keyswap.usage.UsageRecord;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The usage writer's storage step: one batch of {@value #BATCH} records (the default
 * {@code usage.batch_size}) into a real SQLite file with the shipped schema, per record. Each
 * record is a distinct request (own id, path and time) for the same key and model, as under load.
 *
 * <p><b>Budget: under 2 µs per record.</b> The writer runs on the proxy's CPUs, so its time per
 * record is part of the CPU per proxied request that must stay at or under nginx's (~20–28 µs
 * here, for a proxy that records nothing); the event loop's own work already takes most of that.
 * <b>Met since V8: ~1.2 µs</b>, records stored in blocks of 256 as SQLite JSONB written in Java
 * ({@code UsageBlock}); async-profiler: encoding the block 43 % (a third of it the cost's
 * double written as decimal), the commit's WAL writes 29 %, the lookup ids and the daily rollup
 * most of the rest. A row per record cost ~2.8 µs (SQLite's step 42 %, the driver's JNI call per
 * bound parameter 32 %, the daily rollup 10 %, commit 8 %). Tried before V8 and not kept: the
 * values written into the SQL as literals (5.8–7.0 µs: SQLite compiling the literals costs more
 * than the binds), and the whole batch as one JSON text unpacked by {@code json_each} into rows
 * (13.5 µs).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Thread)
@Fork(1)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
public class UsageWriteBenchmark {
    static final int BATCH = 2048;

    private Path dir;
    private Database db;
    private UsageStore store;
    private List<UsageRecord> batch;
    private long next;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = Files.createTempDirectory("keyswap-usage-bench");
        db = Database.open("jdbc:sqlite:" + dir.resolve("keyswap.db"));
        store = new UsageStore(db);
    }

    @Setup(Level.Invocation)
    public void nextBatch() {
        batch = new ArrayList<>(BATCH);
        Instant now = Instant.now();
        for (int i = 0; i < BATCH; i++) {
            long n = next++;
            // Request ids in Keyswap's own form (RequestIds: "req_" + 24 hex digits, random).
            String requestId = String.format("req_%016x%08x", n * 0x9E3779B97F4A7C15L, (int) (n * 0x2545F491L));
            batch.add(new UsageRecord(now, requestId, "act_bench", "key_bench", "openai",
                    null, "POST", "/v1/chat/completions", 200, 1800 + n % 300, 1500 + n % 200, 312, 640 + n % 50,
                    "gpt-4o-mini", 12L, 34L, 0.0000243));
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        db.close();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void insertBatch() {
        store.insertBatch(batch);
    }
}
