package dev.keyswap.bench.load;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * The end-to-end load harness behind {@code proxy-bench/run.sh}: one bench upstream, Keyswap started
 * the way users start it ({@code ./keyswap serve}, so with the launcher's JVM options) with a real
 * config (SQLite, token check, routing, key swap, usage log), and nginx doing only the header swap;
 * then the matrix with targets interleaved in every repetition (direct, nginx, Keyswap, each repetition
 * starting one target further on), one table
 * on stdout and all raw figures as JSON under {@code proxy-bench/results/}.
 *
 * <p>Settings come from the environment (run.sh sets them): {@code KS_LAUNCHER}, {@code KS_RESULTS},
 * {@code KS_PIDFILE}, {@code QUICK}, {@code PROXY_CPUS}/{@code LOAD_CPUS} (taskset lists; empty = no
 * pinning), {@code DURATION}, {@code WARMUP}, {@code JIT_WARMUP}, {@code SHAPE_PASS}, {@code REPS}, {@code RATE}, {@code STREAMS},
 * {@code STREAM_INTERVAL_MS}, {@code SCENARIOS}, {@code BULK_BYTES}, {@code BULK_REPS}, {@code BULK_WARMUP_BYTES}, {@code KEEP_WORK}.
 */
public final class LoadHarness {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final String UPSTREAM_KEY = BenchConfigs.UPSTREAM_KEY;
    private static final List<Process> CHILDREN = new ArrayList<>();
    /** The bulk warm-up goes in transfers of at most this many bytes. */
    private static final long BULK_WARMUP_PASS_BYTES = 512L << 20;
    /** The JIT warm-up's longest single run, in seconds: see where it is used. */
    private static final int WARMUP_RUN_S = 10;

    private final Map<String, String> env = System.getenv();
    private final boolean quick = "1".equals(env.get("QUICK"));
    private final int duration = intEnv("DURATION", quick ? 3 : 5);
    private final int warmup = intEnv("WARMUP", 1);
    private final int reps = intEnv("REPS", quick ? 1 : 3);
    private final int rate = intEnv("RATE", 2000);
    private final int streams = intEnv("STREAMS", 1000);
    private final int streamEvents = 20;
    private final int streamIntervalMs = intEnv("STREAM_INTERVAL_MS", quick ? 100 : 250);
    private final long bulkBytes = Long.parseLong(env.getOrDefault("BULK_BYTES", Long.toString(1L << 30)));
    private final int bulkReps = intEnv("BULK_REPS", 1);
    /**
     * Comma-separated scenarios to run, each a name or its first words ("chat c=64,paced"); empty
     * runs the whole matrix.
     */
    private final List<String> only = Arrays.stream(env.getOrDefault("SCENARIOS", "").split(","))
            .map(String::trim).filter(n -> !n.isEmpty()).toList();
    /**
     * Unrecorded transfer each way per target before the recorded ones. The bulk path is code the
     * chat warm-up never ran (large buffers, writability turns), and with 64 KiB per event it takes
     * ~1.5 GiB before C2 has compiled it: measured without this, Keyswap's 1 GiB upload was about
     * half JIT compiling (C2 ~1,000 µs/MiB beside ~600 for the event loop; cpu-profile-style runs).
     */
    private final long bulkWarmupBytes = Long.parseLong(env.getOrDefault("BULK_WARMUP_BYTES",
            Long.toString(quick ? 0 : 2L << 30)));
    private final String proxyCpus;
    private final String loadCpus;
    private final Path launcher = Path.of(env.getOrDefault("KS_LAUNCHER", "keyswap")).toAbsolutePath();
    private final Path resultsDir = Path.of(env.getOrDefault("KS_RESULTS", "proxy-bench/results")).toAbsolutePath();
    private final Path harnessDir = Path.of(env.getOrDefault("KS_HARNESS", "proxy-bench/harness")).toAbsolutePath();
    private final Path pidFile = env.containsKey("KS_PIDFILE") ? Path.of(env.get("KS_PIDFILE")) : null;
    private final Path work;
    private final List<Map<String, Object>> runs = new ArrayList<>();
    private final Map<String, Object> facts = new LinkedHashMap<>();

    private ProcessTree upstreamTree;
    private ProcessTree keyswapTree;
    private ProcessTree nginxTree;
    private Process keyswapProcess;
    private int keyswapPort;
    private String token;
    private long keyswapRequests;

    /** A proxy under test, or the upstream itself. */
    private record Target(String name, LoadTarget load, ProcessTree proxy) {
    }

    /** What one scenario run produced before CPU and memory are attached. */
    private record Measured(double rate, long requests, long p50, long p99, long p999, long errors, double seconds,
                            Map<String, Object> extra) {
    }

    private LoadHarness() throws IOException {
        int cpus = Runtime.getRuntime().availableProcessors();
        String defaultProxy = cpus >= 2 ? "0" : "";
        String defaultLoad = cpus >= 2 ? "1-" + (cpus - 1) : "";
        proxyCpus = env.getOrDefault("PROXY_CPUS", defaultProxy);
        loadCpus = env.getOrDefault("LOAD_CPUS", defaultLoad);
        work = Files.createTempDirectory("keyswap-load-");
    }

    public static void main(String[] args) throws Exception {
        Runtime.getRuntime().addShutdownHook(new Thread(LoadHarness::stopChildren, "stop-children"));
        LoadHarness h = new LoadHarness();
        boolean finished = false;
        try {
            h.runAll();
            finished = true;
        } finally {
            stopChildren();
            h.removeWork(finished);
        }
    }

    /**
     * The work directory holds Keyswap's database (~450 MB after a full run), the servers' configs
     * and logs: removed after a run that finished, so that repeated runs do not fill the disk, and
     * kept after one that failed (or with {@code KEEP_WORK=1}) for its logs.
     */
    private void removeWork(boolean finished) throws IOException {
        if (!finished || "1".equals(env.get("KEEP_WORK"))) {
            log("work dir kept: " + work);
            return;
        }
        try (Stream<Path> paths = Files.walk(work)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private void runAll() throws Exception {
        Files.createDirectories(resultsDir);
        log("work dir " + work + "; proxy CPUs [" + proxyCpus + "], load generator + upstream CPUs [" + loadCpus + "]"
                + (quick ? "; QUICK" : ""));
        facts.put("machine", machine());
        facts.put("settings", settings());

        int upPort = freePort();
        startUpstream(upPort);
        startKeyswap(upPort);
        int nginxPort = startNginx(upPort);

        List<Target> targets = List.of(
                new Target("direct", new LoadTarget("direct", "127.0.0.1", upPort, "", "Bearer " + UPSTREAM_KEY), null),
                new Target("nginx", new LoadTarget("nginx", "127.0.0.1", nginxPort, "", "Bearer " + token), nginxTree),
                new Target("keyswap", new LoadTarget("keyswap", "127.0.0.1", keyswapPort, "/openai", "Bearer " + token), keyswapTree));

        // Every target's JIT, pools and caches get the same start before anything is recorded:
        // Keyswap is a JVM, and what is measured is a proxy that has been up for a while. Its C2
        // compiler works through the first minute of traffic (-XX:+PrintCompilation over a 90 s
        // load: ~1,500 compilations per 10 s at first, ~25 after 60 s), and that compiling is CPU
        // on the proxy's one CPU. Start-up is measured on its own (/healthz, startup.sh).
        // The chat warm-up goes in runs of at most 10 s, each on new connections: C2 compiles a long
        // steady run's code without the accept and close paths, the next connections deoptimize it,
        // and a server with steady churn converges after a few such rounds (cpu-profile.sh: C2's
        // share of the measured run fell from ~2 to ~0.8 us per request).
        // Then rounds of the many-streams scenario without pauses: its code runs per connection
        // (accept, register, close, a new exchange), a thousand times a round, so C2 reaches it only
        // after tens of thousands of connections. Without this its compiling landed in the measured
        // streams runs: cpu-profile.sh MODE=streams C=1000, C2 11.9 us per event after a 30 s
        // warm-up of that load, 0.2 after 120 s (0.6 after 60 s of rounds without pauses).
        // (The warm-up itself runs below the matrix, which is named first to check SCENARIOS.)
        int jitWarmup = intEnv("JIT_WARMUP", quick ? 6 : 60);
        // The SSE warm-up, and the streams scenario's prime below.
        int thirdOfWarmup = Math.max(2, jitWarmup / 3);

        /**
         * A scenario: what every target gets once before its first repetition (beyond the
         * warm-up above), the unrecorded pass before each repetition, and the run it measures.
         */
        record Scenario(String name, Consumer<Target> prime, Consumer<Target> warm, Function<Target, Measured> run) {
        }
        Consumer<Target> noPrime = t -> { };
        List<Scenario> matrix = new ArrayList<>();
        for (int c : new int[]{1, 16, 64, 256}) {
            matrix.add(new Scenario("chat c=" + c, noPrime, t -> wrk(t, c, warmup, false), t -> wrk(t, c, duration, false)));
        }
        matrix.add(new Scenario("sse20 c=64", noPrime, t -> wrk(t, 64, warmup, true), t -> wrk(t, 64, duration, true)));
        matrix.add(new Scenario("paced " + rate + "/s", noPrime, this::pacedWarmup, this::paced));
        // The streams scenario comes after minutes of chat, which C2 compiles its shared code for
        // (the head readers, the usage scanner, the loop itself), leaving out branches chat never
        // takes. The first thousands of streamed events then hit those branches: with
        // -XX:+PrintCompilation in the 19:50 UTC run (2026-11-23), UpstreamResponseReader.readHead,
        // JsonUsageScanner.number, UsageBlock.record and IoUringIoHandler.run were made not
        // entrant and compiled again during the streams repetitions, 11.4, 1.9 and 4.3 us of
        // compiling per event in them. A proxy that has been up for a while has long compiled
        // both, so every target first gets another third of the warm-up in rounds spaced as the
        // measured ones (rounds without pauses were not enough: they never let the loop wait, and
        // the 20:10 run still caught 10 us per event of compiling in its first repetition).
        matrix.add(new Scenario("sse" + streams + " streams", t -> streamRounds(t, streamIntervalMs, thirdOfWarmup),
                this::streamsRound, this::manyStreams));

        // A SCENARIOS name that matches no scenario stops the run before minutes of warm-up.
        if (!only.isEmpty()) {
            List<String> names = new ArrayList<>(matrix.stream().map(Scenario::name).toList());
            names.addAll(List.of("upload", "download"));
            for (String wanted : only) {
                if (names.stream().noneMatch(n -> namedBy(n, wanted))) {
                    throw new IllegalArgumentException("SCENARIOS names '" + wanted + "', which matches no scenario of " + names);
                }
            }
        }

        log("warming up every target: chat c=64 for " + jitWarmup + " s in runs of up to " + WARMUP_RUN_S
                + " s, then sse20 c=16 for " + thirdOfWarmup + " s, then rounds of " + streams
                + " streams for " + jitWarmup + " s (and " + thirdOfWarmup
                + " s more of stream rounds, spaced as measured, before the streams scenario)");
        for (Target t : targets) {
            for (int left = jitWarmup; left > 0; left -= WARMUP_RUN_S) {
                wrk(t, 64, Math.min(left, WARMUP_RUN_S), false);
            }
            wrk(t, 16, thirdOfWarmup, true);
            streamRounds(t, 0, jitWarmup);
        }

        // Then one unrecorded pass of the whole matrix, every shape of load once, before the first
        // measured repetition. The warm-up above is chat at c=64, SSE at c=16 and the streams;
        // when the load then changed shape (c=16 to c=64 to c=256, chat to SSE), compiled code met
        // branches its profile had never seen and C2 compiled it again inside measured
        // repetitions: a JIT log of the 2026-11-24 03:51 UTC run showed Netty's write and flush
        // paths, the request reader and the usage writer made not entrant and recompiled there,
        // and c=64's second repetition caught 6.6 and 10.1 us per request of compiling in the two
        // runs before it. A server that has been up for a while has seen every shape.
        if (intEnv("SHAPE_PASS", quick ? 0 : 1) > 0) {
            log("one unrecorded pass of every scenario for every target");
            for (Scenario s : matrix) {
                for (Target t : targets) {
                    s.warm().accept(t);
                    s.run().apply(t);
                }
            }
        }
        // SCENARIOS picks what is measured; the pass above ran every shape all the same, so that
        // what is measured is the server a full run measures.
        matrix.removeIf(sc -> !measured(sc.name()));
        for (Scenario s : matrix) {
            for (Target t : targets) {
                s.prime().accept(t);
            }
            for (int rep = 1; rep <= reps; rep++) {
                for (Target t : inTurn(targets, rep)) {
                    s.warm().accept(t);
                    measure(s.name(), rep, t, s.run());
                }
            }
        }
        if (bulkWarmupBytes > 0 && (measured("upload") || measured("download"))) {
            log("warming up the bulk path of every target: " + (bulkWarmupBytes >> 20) + " MiB each way");
            for (Target t : targets) {
                for (boolean upload : new boolean[]{true, false}) {
                    for (long left = bulkWarmupBytes; left > 0; left -= BULK_WARMUP_PASS_BYTES) {
                        BulkTransferClient.run(t.load(), upload, Math.min(left, BULK_WARMUP_PASS_BYTES));
                    }
                }
            }
        }
        for (String dir : new String[]{"upload", "download"}) {
            if (!measured(dir)) {
                continue;
            }
            for (int rep = 1; rep <= bulkReps; rep++) {
                for (Target t : inTurn(targets, rep)) {
                    measureBulk(dir, rep, t);
                }
            }
        }
        facts.put("usage", usageCheck());
        report();
    }

    /** Whether the scenario of this name is measured: SCENARIOS names it, or is unset. */
    private boolean measured(String scenario) {
        return only.isEmpty() || only.stream().anyMatch(wanted -> namedBy(scenario, wanted));
    }

    /**
     * Whether {@code wanted} is the scenario's name or its first whole words: "chat" names every
     * chat scenario, "chat c=1" names "chat c=1" and not "chat c=16".
     */
    static boolean namedBy(String scenario, String wanted) {
        return scenario.equals(wanted) || scenario.startsWith(wanted + " ");
    }

    /**
     * The targets in repetition {@code rep}'s order: each repetition starts one target further on
     * (direct, nginx, Keyswap; then nginx, Keyswap, direct; ...), so over three repetitions every
     * target runs once in every place. In one fixed order Keyswap always ran right after nginx,
     * and whatever the place does (the host's drift within a repetition, the upstream just
     * hammered by the target before) fell on one target only.
     */
    private static <T> List<T> inTurn(List<T> targets, int rep) {
        List<T> turned = new ArrayList<>(targets.size());
        for (int i = 0; i < targets.size(); i++) {
            turned.add(targets.get((i + rep - 1) % targets.size()));
        }
        return turned;
    }

    // ---------------------------------------------------------------- processes

    private void startUpstream(int port) throws Exception {
        List<String> cmd = pinned(loadCpus, "java", "-Xms256m", "-Xmx256m", "-XX:+UseParallelGC", "-cp",
                System.getProperty("java.class.path"), BenchUpstream.class.getName(), Integer.toString(port), "1");
        Process p = start(cmd, "upstream");
        upstreamTree = new ProcessTree(p.pid());
        waitForPort(port, 15_000, "bench upstream");
        log("upstream on 127.0.0.1:" + port + " (pid " + p.pid() + ")");
    }

    private void startKeyswap(int upPort) throws Exception {
        keyswapPort = freePort();
        Path config = work.resolve("keyswap.yaml");
        Files.writeString(config, BenchConfigs.keyswapYaml(work, keyswapPort, upPort, "auto"));
        // Also where the launcher makes its class-data archive after a build, outside the timing below.
        Process create = new ProcessBuilder(launcher.toString(), "keys", "create", "--name", "load-bench",
                "--config", config.toString()).redirectError(work.resolve("keys-create.err").toFile()).start();
        CHILDREN.add(create);
        String out = new String(create.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (create.waitFor() != 0 || !out.startsWith("ptk_")) {
            throw new IllegalStateException("keys create failed: " + out + Files.readString(work.resolve("keys-create.err")));
        }
        token = out.lines().findFirst().orElseThrow().trim();

        long t0 = System.nanoTime();
        keyswapProcess = start(pinned(proxyCpus, launcher.toString(), "serve", "--config", config.toString()), "keyswap");
        keyswapTree = new ProcessTree(keyswapProcess.pid());
        long healthyNs = -1;
        while (System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(30)) {
            if (httpStatus("http://127.0.0.1:" + keyswapPort + "/healthz") == 200) {
                healthyNs = System.nanoTime() - t0;
                break;
            }
            if (!keyswapProcess.isAlive()) {
                throw new IllegalStateException("keyswap exited: " + Files.readString(work.resolve("keyswap.log")));
            }
            Thread.sleep(10);
        }
        if (healthyNs < 0) {
            throw new IllegalStateException("keyswap /healthz did not answer within 30 s");
        }
        facts.put("keyswap_healthz_ms", healthyNs / 1_000_000);
        log("keyswap on 127.0.0.1:" + keyswapPort + " (pid " + keyswapProcess.pid() + "), /healthz 200 after "
                + healthyNs / 1_000_000 + " ms");
    }

    private int startNginx(int upPort) throws Exception {
        int port = freePort();
        Files.createDirectories(work.resolve("nginx-tmp"));
        Path conf = work.resolve("nginx.conf");
        Files.writeString(conf, BenchConfigs.nginxConf(work, port, upPort));
        Process p = start(pinned(proxyCpus, "nginx", "-p", work.toString(), "-c", conf.toString(), "-g", "daemon off;"), "nginx");
        nginxTree = new ProcessTree(p.pid());
        waitForPort(port, 10_000, "nginx");
        log("nginx on 127.0.0.1:" + port + " (pid " + p.pid() + ", worker_processes 1)");
        return port;
    }

    private Process start(List<String> cmd, String name) throws IOException {
        Path logFile = work.resolve(name + ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(logFile.toFile()).start();
        synchronized (CHILDREN) {
            CHILDREN.add(p);
        }
        if (pidFile != null) {
            Files.writeString(pidFile, p.pid() + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        }
        return p;
    }

    private static void stopChildren() {
        List<Process> all;
        synchronized (CHILDREN) {
            all = new ArrayList<>(CHILDREN);
            CHILDREN.clear();
        }
        for (Process p : all) {
            p.destroy();
        }
        for (Process p : all) {
            try {
                if (!p.waitFor(5, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
            }
        }
    }

    private static List<String> pinned(String cpus, String... cmd) {
        List<String> out = new ArrayList<>();
        if (cpus != null && !cpus.isBlank()) {
            // Also when the list is the harness's own: an unpinned child would inherit the harness's CPUs.
            out.add("taskset");
            out.add("-c");
            out.add(cpus);
        }
        out.addAll(Arrays.asList(cmd));
        return out;
    }

    // ---------------------------------------------------------------- scenarios

    /**
     * Runs one measured pass. CPU and the upstream's CPU are read around this pass only: the
     * scenario's warm-up ran before, and counting its CPU against the measured requests once
     * inflated every target's CPU per request by a fifth (1 s of warm-up on 5 measured), and
     * Keyswap's by more (C2 recompiling after the warm-up's new connections).
     */
    private void measure(String scenario, int rep, Target t, Function<Target, Measured> run) {
        long upCpu0 = upstreamTree.cpuMicros();
        long cpu0 = t.proxy() == null ? 0 : t.proxy().cpuMicros();
        long jit0 = t.proxy() == null ? 0 : t.proxy().jitCpuMicros();
        AtomicLong maxRss = new AtomicLong();
        Thread sampler = rssSampler(t, maxRss);
        Measured m;
        try {
            m = run.apply(t);
        } finally {
            sampler.interrupt();
        }
        long cpu = t.proxy() == null ? -1 : t.proxy().cpuMicros() - cpu0;
        long jit = t.proxy() == null ? -1 : t.proxy().jitCpuMicros() - jit0;
        long upCpu = upstreamTree.cpuMicros() - upCpu0;
        if (t.proxy() != null) {
            maxRss.accumulateAndGet(t.proxy().rssKib(), Math::max);
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("scenario", scenario);
        r.put("rep", rep);
        r.put("target", t.name());
        r.put("rate", m.rate());
        r.put("requests", m.requests());
        r.put("p50_us", m.p50());
        r.put("p99_us", m.p99());
        r.put("p999_us", m.p999());
        r.put("errors", m.errors());
        r.put("seconds", m.seconds());
        r.put("proxy_cpu_us", cpu);
        r.put("proxy_cpu_us_per_unit", cpu < 0 || m.requests() == 0 ? null : (double) cpu / m.requests());
        r.put("proxy_jit_cpu_us_per_unit", jit < 0 || m.requests() == 0 ? null : (double) jit / m.requests());
        r.put("proxy_rss_kib_max", t.proxy() == null ? null : maxRss.get());
        r.put("upstream_cpu_us_per_unit", m.requests() == 0 ? null : (double) upCpu / m.requests());
        r.putAll(m.extra());
        runs.add(r);
        if (t.name().equals("keyswap")) {
            keyswapRequests += m.requests();
        }
        log(String.format(Locale.ROOT, "%-18s rep %d %-8s %10.0f/s p50 %6d p99 %6d p99.9 %6d err %d cpu/unit %s (jit %s) rss %s MiB",
                scenario, rep, t.name(), m.rate(), m.p50(), m.p99(), m.p999(), m.errors(),
                r.get("proxy_cpu_us_per_unit") == null ? "-" : String.format(Locale.ROOT, "%.1f", (Double) r.get("proxy_cpu_us_per_unit")),
                r.get("proxy_jit_cpu_us_per_unit") == null ? "-" : String.format(Locale.ROOT, "%.1f", (Double) r.get("proxy_jit_cpu_us_per_unit")),
                t.proxy() == null ? "-" : Long.toString(maxRss.get() / 1024)));
    }

    private Thread rssSampler(Target t, AtomicLong maxRss) {
        Thread th = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted() && t.proxy() != null) {
                maxRss.accumulateAndGet(t.proxy().rssKib(), Math::max);
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "rss-sampler");
        th.setDaemon(true);
        th.start();
        return th;
    }

    /** One wrk run; chat completions, or SSE responses of 20 events when {@code sse}. */
    private Measured wrk(Target t, int connections, int seconds, boolean sse) {
        try {
            Path script = harnessDir.resolve("bench.lua");
            List<String> cmd = pinned(loadCpus, "wrk", "-t1", "-c" + connections, "-d" + seconds + "s", "--timeout", "10s",
                    "--latency", "-s", script.toString(), t.load().url() + "/v1/chat/completions");
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            pb.environment().put("KS_AUTH", t.load().authorization());
            pb.environment().put("KS_MODE", sse ? "sse" : "chat");
            Process p = pb.start();
            synchronized (CHILDREN) {
                CHILDREN.add(p);
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor();
            synchronized (CHILDREN) {
                CHILDREN.remove(p);
            }
            String line = out.lines().filter(l -> l.startsWith("KSRESULT ")).findFirst()
                    .orElseThrow(() -> new IllegalStateException("wrk printed no result:\n" + out));
            @SuppressWarnings("unchecked")
            Map<String, Number> w = JSON.readValue(line.substring(9), Map.class);
            long requests = w.get("requests").longValue();
            double secs = w.get("duration_us").doubleValue() / 1e6;
            long errors = w.get("err_connect").longValue() + w.get("err_read").longValue() + w.get("err_write").longValue()
                    + w.get("err_status").longValue() + w.get("err_timeout").longValue();
            Map<String, Object> extra = new LinkedHashMap<>();
            extra.put("tool", "wrk -t1 -c" + connections);
            extra.put("wrk", w);
            return new Measured(requests / secs, requests, w.get("p50_us").longValue(), w.get("p99_us").longValue(),
                    w.get("p999_us").longValue(), errors, secs, extra);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private void pacedWarmup(Target t) {
        runPaced(t, warmup);
    }

    private Measured paced(Target t) {
        Map<String, Object> r = runPaced(t, duration);
        long req = ((Number) r.get("requests")).longValue();
        return new Measured(((Number) r.get("achieved_rps")).doubleValue(), req, num(r, "p50_us"), num(r, "p99_us"),
                num(r, "p999_us"), num(r, "errors"), duration, Map.of("paced", r));
    }

    /** The paced client at {@code rate} over 64 connections for {@code seconds}; its report. */
    private Map<String, Object> runPaced(Target t, int seconds) {
        try {
            return PacedClient.run(new PacedClient.Options(t.load(), rate, 0, seconds, 64));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** One unrecorded round of the many-streams scenario with no pause between events. */
    private void streamsRound(Target t) {
        runStreams(t, 0);
    }

    /** Rounds of the many-streams scenario, events {@code intervalMs} apart, for at least {@code seconds}. */
    private void streamRounds(Target t, int intervalMs, int seconds) {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        do {
            runStreams(t, intervalMs);
        } while (System.nanoTime() < until);
    }

    private Measured manyStreams(Target t) {
        Map<String, Object> r = runStreams(t, streamIntervalMs);
        long events = num(r, "events");
        double secs = ((Number) r.get("elapsed_s")).doubleValue();
        return new Measured(events / secs, events, num(r, "holdback_p50_us"), num(r, "holdback_p99_us"),
                num(r, "holdback_p999_us"), num(r, "stalls"), secs, Map.of("streams", r));
    }

    /** {@code streams} concurrent streams of {@code streamEvents} events {@code intervalMs} apart; the client's report. */
    private Map<String, Object> runStreams(Target t, int intervalMs) {
        try {
            return SseStreamClient.run(new SseStreamClient.Options(t.load(), streams, streamEvents, intervalMs, 50, 120_000),
                    null);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** 1 GiB one way with the proxy's heap (Keyswap) and RSS sampled before, during and after. */
    private void measureBulk(String direction, int rep, Target t) throws Exception {
        boolean java = t.name().equals("keyswap");
        Map<String, Object> extra = new LinkedHashMap<>();
        long liveBefore = java ? liveHeapKib() : -1;
        long rssBefore = t.proxy() == null ? -1 : t.proxy().rssKib();
        AtomicLong maxUsed = new AtomicLong(-1);
        Process jstat = null;
        Thread reader = null;
        if (java) {
            jstat = new ProcessBuilder(pinned(loadCpus, "jstat", "-gc", Long.toString(keyswapProcess.pid()), "250"))
                    .redirectErrorStream(true).start();
            synchronized (CHILDREN) {
                CHILDREN.add(jstat);
            }
            Process js = jstat;
            reader = new Thread(() -> {
                try (BufferedReader br = new BufferedReader(new InputStreamReader(js.getInputStream()))) {
                    String[] header = null;
                    for (String line; (line = br.readLine()) != null; ) {
                        String[] f = line.trim().split("\\s+");
                        if (f.length > 0 && f[0].equals("S0C")) {
                            header = f;
                        } else if (header != null && f.length == header.length) {
                            maxUsed.accumulateAndGet(heapUsedKib(header, f), Math::max);
                        }
                    }
                } catch (IOException | RuntimeException e) {
                    // jstat ended
                }
            }, "jstat-reader");
            reader.setDaemon(true);
            reader.start();
        }
        Measured m;
        long cpu0 = t.proxy() == null ? 0 : t.proxy().cpuMicros();
        AtomicLong maxRss = new AtomicLong();
        Thread sampler = rssSampler(t, maxRss);
        Map<String, Object> r;
        try {
            r = BulkTransferClient.run(t.load(), direction.equals("upload"), bulkBytes);
        } finally {
            sampler.interrupt();
            if (jstat != null) {
                Thread.sleep(300);
                jstat.destroy();
                jstat.waitFor(5, TimeUnit.SECONDS);
                reader.join(2000);
            }
        }
        long cpu = t.proxy() == null ? -1 : t.proxy().cpuMicros() - cpu0;
        long rssAfter = t.proxy() == null ? -1 : t.proxy().rssKib();
        long liveAfter = java ? liveHeapKib() : -1;
        double secs = ((Number) r.get("seconds")).doubleValue();
        double mib = bulkBytes / 1048576.0;
        extra.put("transfer", r);
        extra.put("rss_before_kib", rssBefore);
        extra.put("rss_after_kib", rssAfter);
        if (java) {
            extra.put("heap_live_before_kib", liveBefore);
            extra.put("heap_live_after_kib", liveAfter);
            extra.put("heap_live_growth_kib", liveAfter - liveBefore);
            extra.put("heap_used_max_during_kib", maxUsed.get());
            extra.put("heap_used_peak_over_live_before_kib", maxUsed.get() - liveBefore);
        }
        boolean ok = Boolean.TRUE.equals(r.get("ok"));
        m = new Measured(((Number) r.get("mib_per_s")).doubleValue(), (long) mib, -1, -1, -1, ok ? 0 : 1, secs, extra);
        Target unitTarget = t;
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("scenario", direction + " 1GiB");
        row.put("rep", rep);
        row.put("target", unitTarget.name());
        row.put("rate", m.rate());
        row.put("requests", m.requests());
        row.put("p50_us", -1);
        row.put("p99_us", -1);
        row.put("p999_us", -1);
        row.put("errors", m.errors());
        row.put("seconds", secs);
        row.put("proxy_cpu_us", cpu);
        row.put("proxy_cpu_us_per_unit", cpu < 0 ? null : cpu / mib);
        row.put("proxy_rss_kib_max", t.proxy() == null ? null : Math.max(maxRss.get(), rssAfter));
        row.putAll(extra);
        runs.add(row);
        log(String.format(Locale.ROOT, "%-18s rep %d %-8s %8.0f MiB/s in %.1fs ok=%s cpu/MiB %s rss max %s MiB%s",
                direction + " 1GiB", rep, t.name(), m.rate(), secs, ok,
                cpu < 0 ? "-" : String.format(Locale.ROOT, "%.0f", cpu / mib),
                t.proxy() == null ? "-" : Long.toString(Math.max(maxRss.get(), rssAfter) / 1024),
                java ? String.format(Locale.ROOT, "; heap live %d→%d MiB, peak used %d MiB", liveBefore / 1024,
                        liveAfter / 1024, maxUsed.get() / 1024) : ""));
    }

    /** Keyswap's heap in use right after a full GC, in KiB. */
    private long liveHeapKib() throws Exception {
        String pid = Long.toString(keyswapProcess.pid());
        run(pinned(loadCpus, "jcmd", pid, "GC.run"));
        String out = run(pinned(loadCpus, "jstat", "-gc", pid));
        String[] lines = out.trim().split("\n");
        String[] header = lines[lines.length - 2].trim().split("\\s+");
        String[] values = lines[lines.length - 1].trim().split("\\s+");
        return heapUsedKib(header, values);
    }

    private static long heapUsedKib(String[] header, String[] values) {
        double used = 0;
        for (int i = 0; i < header.length; i++) {
            if (header[i].equals("S0U") || header[i].equals("S1U") || header[i].equals("EU") || header[i].equals("OU")) {
                used += Double.parseDouble(values[i]);
            }
        }
        return (long) used;
    }

    /**
     * Waits until the usage writer has caught up (written + failed + dropped stops moving and covers
     * every exchange), then compares what was stored with what Keyswap relayed.
     */
    private Map<String, Object> usageCheck() throws Exception {
        Map<String, Long> m = Map.of();
        long lastSum = -1;
        long stableSince = System.nanoTime();
        long waitStart = System.nanoTime();
        while (System.nanoTime() - waitStart < TimeUnit.SECONDS.toNanos(60)) {
            m = metrics();
            long sum = m.getOrDefault("keyswap_usage_records_written_total", 0L) + m.getOrDefault("keyswap_usage_records_failed_total", 0L)
                    + m.getOrDefault("keyswap_usage_records_queue_dropped_total", 0L);
            if (sum != lastSum) {
                lastSum = sum;
                stableSince = System.nanoTime();
            } else if (sum >= m.getOrDefault("keyswap_exchanges_total", 0L) || System.nanoTime() - stableSince > 5_000_000_000L) {
                break;
            }
            Thread.sleep(500);
        }
        Map<String, Object> u = new LinkedHashMap<>();
        u.put("exchanges_total", m.get("keyswap_exchanges_total"));
        u.put("usage_written", m.get("keyswap_usage_records_written_total"));
        u.put("usage_failed", m.get("keyswap_usage_records_failed_total"));
        u.put("usage_queue_dropped", m.get("keyswap_usage_records_queue_dropped_total"));
        u.put("writer_caught_up_after_s", (System.nanoTime() - waitStart) / 1e9);
        u.put("requests_completed_by_clients_in_measured_runs", keyswapRequests);
        return u;
    }

    private Map<String, Long> metrics() throws IOException {
        Map<String, Long> out = new LinkedHashMap<>();
        for (String line : httpBody("http://127.0.0.1:" + keyswapPort + "/metrics").split("\n")) {
            if (line.startsWith("keyswap_")) {
                String[] kv = line.split("\\s+");
                try {
                    out.put(kv[0], Double.valueOf(kv[1]).longValue());
                } catch (RuntimeException e) {
                    // a label or a non-number; not needed here
                }
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- reporting

    private void report() throws IOException {
        List<String> order = new ArrayList<>();
        Map<String, Map<String, Map<String, Object>>> med = new LinkedHashMap<>();
        for (Map<String, Object> r : runs) {
            String s = (String) r.get("scenario");
            if (!order.contains(s)) {
                order.add(s);
            }
        }
        List<Map<String, Object>> summary = new ArrayList<>();
        StringBuilder table = new StringBuilder();
        table.append("| scenario | target | req/s | p50 µs | p99 µs | p99.9 µs | errors | proxy CPU µs/req | proxy RSS MiB "
                + "| req/s ×nginx ×direct | p50 ×nginx ×direct | p99 ×nginx ×direct | p99.9 ×nginx ×direct | CPU ×nginx | RSS ×nginx |\n");
        table.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|---:|---:|\n");
        for (String s : order) {
            Map<String, Map<String, Object>> byTarget = new LinkedHashMap<>();
            for (String t : List.of("direct", "nginx", "keyswap")) {
                List<Map<String, Object>> rs = runs.stream().filter(r -> r.get("scenario").equals(s) && r.get("target").equals(t)).toList();
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("scenario", s);
                m.put("target", t);
                m.put("reps", rs.size());
                for (String k : List.of("rate", "p50_us", "p99_us", "p999_us", "proxy_cpu_us_per_unit", "proxy_jit_cpu_us_per_unit",
                        "proxy_rss_kib_max")) {
                    m.put(k, median(rs, k));
                }
                m.put("errors", rs.stream().mapToLong(r -> ((Number) r.get("errors")).longValue()).sum());
                byTarget.put(t, m);
            }
            med.put(s, byTarget);
            for (Map<String, Object> m : byTarget.values()) {
                Map<String, Object> ng = byTarget.get("nginx");
                Map<String, Object> di = byTarget.get("direct");
                for (String k : List.of("rate", "p50_us", "p99_us", "p999_us")) {
                    m.put(k + "_x_nginx", ratio(m.get(k), ng.get(k)));
                    m.put(k + "_x_direct", ratio(m.get(k), di.get(k)));
                }
                m.put("proxy_cpu_us_per_unit_x_nginx", ratio(m.get("proxy_cpu_us_per_unit"), ng.get("proxy_cpu_us_per_unit")));
                m.put("proxy_rss_kib_max_x_nginx", ratio(m.get("proxy_rss_kib_max"), ng.get("proxy_rss_kib_max")));
                summary.add(m);
                Object rss = m.get("proxy_rss_kib_max");
                table.append("| ").append(s).append(" | ").append(m.get("target"))
                        .append(" | ").append(fmt(m.get("rate"), "%.0f"))
                        .append(" | ").append(fmt(m.get("p50_us"), "%.0f"))
                        .append(" | ").append(fmt(m.get("p99_us"), "%.0f"))
                        .append(" | ").append(fmt(m.get("p999_us"), "%.0f"))
                        .append(" | ").append(m.get("errors"))
                        .append(" | ").append(fmt(m.get("proxy_cpu_us_per_unit"), "%.1f"))
                        .append(" | ").append(rss == null ? "–" : fmt(((Number) rss).doubleValue() / 1024, "%.0f"))
                        .append(" | ").append(pair(m, "rate"))
                        .append(" | ").append(pair(m, "p50_us"))
                        .append(" | ").append(pair(m, "p99_us"))
                        .append(" | ").append(pair(m, "p999_us"))
                        .append(" | ").append(fmt(m.get("proxy_cpu_us_per_unit_x_nginx"), "%.2f"))
                        .append(" | ").append(fmt(m.get("proxy_rss_kib_max_x_nginx"), "%.2f"))
                        .append(" |\n");
            }
        }
        List<String> bars = bars(med);
        StringBuilder out = new StringBuilder();
        out.append("\nMedians over ").append(reps).append(" interleaved repetition(s) (bulk: ").append(bulkReps)
                .append("). Units per scenario: chat/sse20/paced = requests (latency = full response; paced from the")
                .append(" scheduled send time); sse").append(streams).append(" streams = events (latency = hold-back,")
                .append(" errors = stalls); upload/download = MiB (req/s column = MiB/s, CPU per MiB).\n\n");
        out.append(table).append('\n');
        out.append("Keyswap /healthz after start: ").append(facts.get("keyswap_healthz_ms")).append(" ms\n");
        // The bars count all of a proxy's CPU; this says how much of Keyswap's was its JIT still compiling.
        out.append("Keyswap's JIT compiler threads, CPU per unit within the figure above (median):");
        for (String s : order) {
            out.append(' ').append(s).append(' ').append(fmt(med.get(s).get("keyswap").get("proxy_jit_cpu_us_per_unit"), "%.1f")).append(';');
        }
        out.setLength(out.length() - 1);
        out.append('\n');
        out.append("Keyswap usage log: ").append(facts.get("usage")).append('\n');
        for (Map<String, Object> r : runs) {
            if (String.valueOf(r.get("scenario")).endsWith("1GiB") && "keyswap".equals(r.get("target"))) {
                out.append(String.format(Locale.ROOT, "Keyswap %s: heap live after GC %d → %d KiB (growth %d KiB), heap used peak %d KiB, RSS %d → %d KiB (max %s)%n",
                        r.get("scenario"), r.get("heap_live_before_kib"), r.get("heap_live_after_kib"), r.get("heap_live_growth_kib"),
                        r.get("heap_used_max_during_kib"), r.get("rss_before_kib"), r.get("rss_after_kib"), r.get("proxy_rss_kib_max")));
            }
        }
        out.append("\nThe issue's bars:\n");
        for (String b : bars) {
            out.append("  ").append(b).append('\n');
        }
        System.out.print(out);

        Map<String, Object> doc = new LinkedHashMap<>(facts);
        doc.put("summary", summary);
        doc.put("bars", bars);
        doc.put("runs", runs);
        doc.put("table_markdown", table.toString());
        String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        Path file = resultsDir.resolve(stamp + (quick ? "-quick" : "") + ".json");
        JSON.writeValue(file.toFile(), doc);
        Files.writeString(resultsDir.resolve(stamp + (quick ? "-quick" : "") + ".md"), out.toString());
        System.out.println("\nJSON: " + file);
    }

    /**
     * Keyswap's CPU per unit over nginx's in each repetition of a scenario (the two ran minutes
     * apart at most, on the same host): how far the verdict on the medians is from going the
     * other way. Empty with one repetition.
     */
    private String cpuRatiosByRep(String scenario) {
        Map<Object, Double> keyswap = new TreeMap<>();
        Map<Object, Double> nginx = new TreeMap<>();
        for (Map<String, Object> r : runs) {
            if (scenario.equals(r.get("scenario")) && r.get("proxy_cpu_us_per_unit") instanceof Double cpu) {
                if ("keyswap".equals(r.get("target"))) {
                    keyswap.put(r.get("rep"), cpu);
                } else if ("nginx".equals(r.get("target"))) {
                    nginx.put(r.get("rep"), cpu);
                }
            }
        }
        StringJoiner ratios = new StringJoiner(", ", " (per repetition: ", "×)");
        keyswap.forEach((rep, cpu) -> {
            Double other = nginx.get(rep);
            if (other != null && other > 0) {
                ratios.add(String.format(Locale.ROOT, "%.2f", cpu / other));
            }
        });
        return keyswap.size() > 1 ? ratios.toString() : "";
    }

    private List<String> bars(Map<String, Map<String, Map<String, Object>>> med) {
        List<String> bars = new ArrayList<>();
        for (var e : med.entrySet()) {
            Map<String, Object> k = e.getValue().get("keyswap");
            Map<String, Object> n = e.getValue().get("nginx");
            Double kc = (Double) k.get("proxy_cpu_us_per_unit");
            Double nc = (Double) n.get("proxy_cpu_us_per_unit");
            if (kc != null && nc != null) {
                bars.add(verdict(kc <= nc, String.format(Locale.ROOT, "%s: Keyswap CPU %.1f µs/unit ≤ nginx %.1f%s", e.getKey(), kc, nc,
                        cpuRatiosByRep(e.getKey()))));
            }
        }
        for (String s : List.of("chat c=64", "chat c=256")) {
            var m = med.get(s);
            if (m != null) {
                double kr = (Double) m.get("keyswap").get("rate");
                double nr = (Double) m.get("nginx").get("rate");
                bars.add(verdict(kr >= nr, String.format(Locale.ROOT, "%s: Keyswap %.0f req/s ≥ 1.0× nginx %.0f (%.2f×)", s, kr, nr, kr / nr)));
            }
        }
        var c1 = med.get("chat c=1");
        if (c1 != null) {
            double d = (Double) c1.get("direct").get("p50_us");
            double kAdd = (Double) c1.get("keyswap").get("p50_us") - d;
            double nAdd = (Double) c1.get("nginx").get("p50_us") - d;
            bars.add(verdict(kAdd <= nAdd, String.format(Locale.ROOT, "chat c=1: Keyswap adds %.0f µs p50 over direct, nginx adds %.0f µs", kAdd, nAdd)));
            double d99 = (Double) c1.get("direct").get("p99_us");
            double kAdd99 = (Double) c1.get("keyswap").get("p99_us") - d99;
            double nAdd99 = (Double) c1.get("nginx").get("p99_us") - d99;
            bars.add(verdict(kAdd99 <= nAdd99, String.format(Locale.ROOT, "chat c=1: Keyswap adds %.0f µs p99 over direct, nginx adds %.0f µs", kAdd99, nAdd99)));
        }
        String sn = "sse" + streams + " streams";
        for (Map<String, Object> r : runs) {
            if (r.get("scenario").equals(sn) && r.get("target").equals("keyswap")) {
                @SuppressWarnings("unchecked")
                Map<String, Object> st = (Map<String, Object>) r.get("streams");
                long stalls = num(st, "stalls");
                long rss = ((Number) r.get("proxy_rss_kib_max")).longValue();
                bars.add(verdict(stalls == 0 && num(st, "completed") == streams && rss < 512 * 1024,
                        String.format(Locale.ROOT, "%s rep %s: %d/%d streams complete, max open %s, %d stalls (>50 ms), hold-back max %.1f ms, RSS max %d MiB < 512",
                                sn, r.get("rep"), num(st, "completed"), streams, st.get("max_concurrent_open"), stalls,
                                num(st, "holdback_max_us") / 1000.0, rss / 1024)));
            }
            if (String.valueOf(r.get("scenario")).endsWith("1GiB") && r.get("target").equals("keyswap")) {
                long growth = ((Number) r.get("heap_live_growth_kib")).longValue();
                long peak = ((Number) r.get("heap_used_peak_over_live_before_kib")).longValue();
                bars.add(verdict(growth < 64 * 1024 && ((Number) r.get("errors")).longValue() == 0,
                        String.format(Locale.ROOT, "%s: transfer ok=%s, live heap growth %d KiB < 64 MiB (peak used over live-before: %d MiB)",
                                r.get("scenario"), r.get("errors").equals(0L) ? "yes" : "NO", growth, peak / 1024)));
            }
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> usage = (Map<String, Object>) facts.get("usage");
        long written = usage.get("usage_written") == null ? -1 : ((Number) usage.get("usage_written")).longValue();
        long exchanges = usage.get("exchanges_total") == null ? -1 : ((Number) usage.get("exchanges_total")).longValue();
        bars.add(verdict(written >= 0 && written == exchanges, "usage log: " + written + " records stored for " + exchanges
                + " exchanges (queue dropped " + usage.get("usage_queue_dropped") + ", failed " + usage.get("usage_failed") + ")"));
        Object h = facts.get("keyswap_healthz_ms");
        bars.add(verdict(((Number) h).longValue() <= 2000, "/healthz " + h + " ms after start ≤ 2000 ms"));
        return bars;
    }

    private static String verdict(boolean ok, String what) {
        return (ok ? "PASS " : "FAIL ") + what;
    }

    private static Double median(List<Map<String, Object>> rs, String key) {
        double[] v = rs.stream().map(r -> r.get(key)).filter(x -> x instanceof Number).mapToDouble(x -> ((Number) x).doubleValue())
                .filter(x -> x >= 0).sorted().toArray();
        if (v.length == 0) {
            return null;
        }
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private static Double ratio(Object a, Object b) {
        if (!(a instanceof Number x) || !(b instanceof Number y) || y.doubleValue() == 0) {
            return null;
        }
        return x.doubleValue() / y.doubleValue();
    }

    private static String pair(Map<String, Object> m, String k) {
        return fmt(m.get(k + "_x_nginx"), "%.2f") + " / " + fmt(m.get(k + "_x_direct"), "%.2f");
    }

    private static String fmt(Object v, String f) {
        return v instanceof Number n ? String.format(Locale.ROOT, f, n.doubleValue()) : "–";
    }

    private static long num(Map<String, Object> m, String k) {
        return ((Number) m.get(k)).longValue();
    }

    // ---------------------------------------------------------------- facts and plumbing

    private Map<String, Object> machine() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("nproc", quiet("nproc", "--all").trim());
        m.put("free_g", quiet("free", "-g"));
        m.put("cpu_model", quiet("sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").trim());
        m.put("kernel", quiet("uname", "-r").trim());
        m.put("java", quiet("java", "-version").trim());
        m.put("nginx", quiet("nginx", "-v").trim());
        m.put("wrk", quiet("wrk", "-v").lines().findFirst().orElse("").trim());
        m.put("loadavg_at_start", quiet("cat", "/proc/loadavg").trim());
        return m;
    }

    private Map<String, Object> settings() {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("quick", quick);
        s.put("duration_s", duration);
        s.put("warmup_s", warmup);
        s.put("reps", reps);
        s.put("paced_rate", rate);
        s.put("streams", streams);
        s.put("stream_events", streamEvents);
        s.put("stream_interval_ms", streamIntervalMs);
        s.put("bulk_bytes", bulkBytes);
        s.put("bulk_reps", bulkReps);
        s.put("bulk_warmup_bytes", bulkWarmupBytes);
        s.put("proxy_cpus", proxyCpus);
        s.put("load_and_upstream_cpus", loadCpus);
        s.put("nginx_worker_processes", 1);
        s.put("keyswap_jvm_flags", "the launcher's (./keyswap: class-data archive, JVM warnings to stderr)");
        s.put("wrk_threads", 1);
        return s;
    }

    private static String quiet(String... cmd) {
        try {
            return run(Arrays.asList(cmd));
        } catch (Exception e) {
            return "unavailable: " + e.getMessage();
        }
    }

    private static String run(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(30, TimeUnit.SECONDS);
        return out;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static void waitForPort(int port, long ms, String what) throws InterruptedException {
        long end = System.currentTimeMillis() + ms;
        while (System.currentTimeMillis() < end) {
            try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
                return;
            } catch (IOException e) {
                Thread.sleep(20);
            }
        }
        throw new IllegalStateException(what + " did not listen on " + port + " within " + ms + " ms");
    }

    private static int httpStatus(String url) {
        try {
            HttpURLConnection c = (HttpURLConnection) new URL(url).openConnection();
            c.setConnectTimeout(200);
            c.setReadTimeout(1000);
            int code = c.getResponseCode();
            c.disconnect();
            return code;
        } catch (IOException e) {
            return -1;
        }
    }

    private static String httpBody(String url) throws IOException {
        HttpURLConnection c = (HttpURLConnection) new URL(url).openConnection();
        try (var in = c.getInputStream()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private int intEnv(String name, int dflt) {
        String v = env.get(name);
        return v == null || v.isBlank() ? dflt : Integer.parseInt(v.trim());
    }

    private static void log(String s) {
        System.out.println("[harness] " + s);
        System.out.flush();
    }
}
