package dev.keyswap.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.ConnectException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code ./keyswap} launcher's class-data archive never stands between a user and a start:
 * made on first use, and a missing, cut-short, garbage or stale archive still starts {@code serve}
 * with stdout holding only the command's output. Runs the real script on the packaged jar, so
 * Maven runs it after {@code package} (proxy-server/pom.xml), on a copy of the layout the script
 * expects in a temporary directory.
 */
class LauncherTest {
    private static final Path REPO = Path.of(System.getProperty("user.dir")).getParent();
    private static final Duration TIMEOUT = Duration.ofSeconds(120);

    /** One checkout for all tests, so that the (slow) training runs once: {@link #restore} resets it. */
    @TempDir
    static Path shared;
    private static Path root;
    private static Path jar;
    private static FileTime jarTime;
    private static Path cds;
    private static Run firstRun;

    @TempDir
    Path dir;
    private Path config;
    private int port;
    private final List<Process> processes = new ArrayList<>();

    @BeforeAll
    static void firstRun() throws Exception {
        Path built = REPO.resolve("proxy-server/target/keyswap.jar");
        assertTrue(Files.isRegularFile(built), built + " is missing: this test runs after mvn package");
        root = Files.createDirectories(shared.resolve("checkout"));
        Files.copy(REPO.resolve("keyswap"), root.resolve("keyswap"), StandardCopyOption.COPY_ATTRIBUTES);
        jar = Files.createDirectories(root.resolve("proxy-server/target")).resolve("keyswap.jar");
        Files.copy(built, jar);
        jarTime = Files.getLastModifiedTime(jar);
        cds = root.resolve("proxy-server/target/cds");
        LauncherTest first = new LauncherTest();
        first.dir = Files.createDirectories(shared.resolve("first"));
        first.configure();
        firstRun = first.run("keys", "create", "--name", "launcher-test", "--config", first.config.toString());
        copyTree(cds, shared.resolve("pristine-cds"));
    }

    @BeforeEach
    void restore() throws IOException {
        Files.setLastModifiedTime(jar, jarTime);
        deleteTree(cds);
        copyTree(shared.resolve("pristine-cds"), cds); // copies are newer than the jar, as made
        configure();
    }

    private void configure() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        config = Files.writeString(dir.resolve("keyswap.yaml"), """
                server:
                  host: 127.0.0.1
                  port: %d
                  drain_timeout: 2s
                storage:
                  url: jdbc:sqlite:%s
                vault:
                  master_key_file: %s
                """.formatted(port, dir.resolve("keyswap.db"), dir.resolve("master.key")));
    }

    @AfterEach
    void stop() throws InterruptedException {
        for (Process p : processes) {
            if (p.isAlive()) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void firstRunMakesTheArchiveAndKeysCreateStillPrintsOnlyTheToken() throws Exception {
        assertEquals(0, firstRun.code, firstRun.stderr);
        assertOnlyAToken(firstRun.stdout);
        assertTrue(firstRun.stderr.contains("preparing the class-data archive"), firstRun.stderr);
        Path archive = archive();
        assertEquals(Files.readString(sibling(archive, ".bytes")).trim(), Long.toString(Files.size(archive)));
        assertTrue(Files.isRegularFile(cds.resolve("sqlite").resolve(System.mapLibraryName("sqlitejdbc"))), "no SQLite library copy");

        Run again = run("keys", "list", "--config", config.toString());
        assertEquals(0, again.code, again.stderr);
        assertFalse(again.stderr.contains("preparing"), "the archive was made again: " + again.stderr);
        assertServes();
    }

    /** JDK 17 crashes (SIGBUS) on an archive shorter than it was written, rather than ignoring it. */
    @Test
    void anArchiveCutShortIsMadeAgainAndServeStarts() throws Exception {
        Path archive = archive();
        archive.toFile().setWritable(true); // the JVM writes it read-only
        try (RandomAccessFile f = new RandomAccessFile(archive.toFile(), "rw")) {
            f.setLength(f.length() / 2);
        }
        assertServes();
        assertEquals(Files.readString(sibling(archive, ".bytes")).trim(), Long.toString(Files.size(archive)));
    }

    @Test
    void aGarbageArchiveOfTheRecordedSizeIsIgnoredByTheJvmAndServeStarts() throws Exception {
        Path archive = archive();
        byte[] garbage = new byte[(int) Files.size(archive)];
        new Random(42).nextBytes(garbage);
        archive.toFile().setWritable(true); // the JVM writes it read-only
        Files.write(archive, garbage);
        assertServes();
    }

    /** A jar changed behind the launcher's back: the JVM refuses the archive and says so on stderr. */
    @Test
    void aStaleArchiveIsIgnoredAndStdoutStaysTheCommandsOutput() throws Exception {
        FileTime before = Files.getLastModifiedTime(jar);
        Files.write(jar, new byte[0], java.nio.file.StandardOpenOption.APPEND); // same content, new mtime
        Files.setLastModifiedTime(jar, FileTime.fromMillis(before.toMillis() - 1000));
        Run create = run("keys", "create", "--name", "stale", "--config", config.toString());
        assertEquals(0, create.code, create.stderr);
        assertOnlyAToken(create.stdout);
    }

    @Test
    void withCdsOffNoArchiveIsMadeAndServeStarts() throws Exception {
        deleteTree(cds);
        Run list = run(List.of("KEYSWAP_CDS=off"), "keys", "list", "--config", config.toString());
        assertEquals(0, list.code, list.stderr);
        assertFalse(Files.exists(cds), "KEYSWAP_CDS=off still made an archive");
        assertServes(List.of("KEYSWAP_CDS=off"));
    }

    @Test
    void serveSamplesTheJvmStatisticsOnceASecondUnlessToldOtherwise() throws Exception {
        List<String> defaults = assertServes(List.of());
        assertTrue(defaults.contains("-XX:PerfDataSamplingInterval=1000"), "serve's JVM arguments: " + defaults);

        // KEYSWAP_JAVA_OPTS come last, so the user's value is the one the JVM keeps.
        List<String> told = assertServes(List.of("KEYSWAP_JAVA_OPTS=-XX:PerfDataSamplingInterval=50"));
        int launchers = told.indexOf("-XX:PerfDataSamplingInterval=1000");
        int users = told.indexOf("-XX:PerfDataSamplingInterval=50");
        assertTrue(launchers >= 0 && users > launchers, "serve's JVM arguments: " + told);
    }

    // --- helpers ---

    private record Run(int code, String stdout, String stderr) {
    }

    private Run run(String... args) throws Exception {
        return run(List.of(), args);
    }

    private Run run(List<String> env, String... args) throws Exception {
        Process p = launcher(env, args).start();
        processes.add(p);
        assertTrue(p.waitFor(TIMEOUT.toSeconds(), TimeUnit.SECONDS), "./keyswap " + String.join(" ", args) + " hung");
        return new Run(p.exitValue(), Files.readString(dir.resolve("stdout.txt")), Files.readString(dir.resolve("stderr.txt")));
    }

    private ProcessBuilder launcher(List<String> env, String... args) {
        List<String> cmd = new ArrayList<>(List.of(root.resolve("keyswap").toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile())
                .redirectOutput(dir.resolve("stdout.txt").toFile())
                .redirectError(dir.resolve("stderr.txt").toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("KEYSWAP_"));
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        for (String kv : env) {
            pb.environment().put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
        }
        return pb;
    }

    private void assertServes() throws Exception {
        assertServes(List.of());
    }

    /**
     * {@code ./keyswap serve} answers /healthz, then stops with 0 on SIGTERM. Returns the JVM's
     * arguments as the running process had them (the launcher execs java, so it is that process).
     */
    private List<String> assertServes(List<String> env) throws Exception {
        Process serve = launcher(env, "serve", "--config", config.toString()).start();
        processes.add(serve);
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        HttpRequest health = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/healthz"))
                .timeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        int status = 0;
        while (status != 200 && System.nanoTime() < deadline) {
            assertTrue(serve.isAlive(), "serve exited with " + (serve.isAlive() ? 0 : serve.exitValue()) + ":\n"
                    + Files.readString(dir.resolve("stderr.txt")));
            try {
                status = http.send(health, HttpResponse.BodyHandlers.discarding()).statusCode();
            } catch (ConnectException | java.net.http.HttpConnectTimeoutException e) {
                Thread.sleep(50); // not listening yet
            }
        }
        assertEquals(200, status, "/healthz never answered 200:\n" + Files.readString(dir.resolve("stderr.txt")));
        List<String> arguments = List.of(serve.info().arguments().orElse(new String[0]));
        serve.destroy();
        assertTrue(serve.waitFor(30, TimeUnit.SECONDS), "serve did not stop on SIGTERM");
        assertEquals(0, serve.exitValue(), Files.readString(dir.resolve("stderr.txt")));
        return arguments;
    }

    private static void assertOnlyAToken(String stdout) {
        List<String> lines = stdout.lines().toList();
        assertEquals(1, lines.size(), "stdout should hold the token alone, got " + lines.size() + " lines");
        assertTrue(lines.get(0).startsWith("ptk_"), "stdout's line is not a token");
    }

    private static Path archive() throws IOException {
        try (Stream<Path> files = Files.list(cds)) {
            return files.filter(p -> p.toString().endsWith(".jsa")).findFirst().orElseThrow(() -> new AssertionError("no archive made"));
        }
    }

    private static Path sibling(Path file, String suffix) {
        return file.resolveSibling(file.getFileName() + suffix);
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> paths = Files.walk(from)) {
            for (Path p : (Iterable<Path>) paths::iterator) {
                Files.copy(p, to.resolve(from.relativize(p).toString()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) paths.sorted(java.util.Comparator.reverseOrder())::iterator) {
                Files.delete(p);
            }
        }
    }
}
