package dev.keyswap.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import okhttp3.mockwebserver.MockResponse;
import okhttp3.mockwebserver.MockWebServer;
import okhttp3.mockwebserver.RecordedRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code keyswap serve} as a real process, stopped the way an orchestrator stops it: SIGTERM
 * while a slow request is in flight. The request must finish, its usage row must be stored, and
 * the process must exit 0 within the drain timeout.
 */
class ServeProcessTest {
    private static final String UPSTREAM_KEY = "sk-upstream-ServerKeyNeverShown42";
    private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(10);
    /** Only so that a hung start fails the test: start-up speed is measured in proxy-bench. */
    private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(60);

    @TempDir
    Path dir;
    private Process process;

    @AfterEach
    void stopProcess() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void sigtermFinishesTheInFlightRequestStoresItsUsageAndExits0() throws Exception {
        try (MockWebServer upstream = new MockWebServer()) {
            upstream.enqueue(new MockResponse()
                    .setHeadersDelay(1, TimeUnit.SECONDS)
                    .setHeader("Content-Type", "application/json")
                    .setBody("{\"id\":\"chatcmpl-1\",\"model\":\"gpt-4o-mini\",\"choices\":[],"
                            + "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":5,\"total_tokens\":8}}"));
            upstream.start();
            int port = freePort();
            Path config = writeConfig(port, """
                    providers:
                      openai:
                        base_url: http://127.0.0.1:%d
                        api_key: %s
                    """.formatted(upstream.getPort(), UPSTREAM_KEY));
            String token = createToken(config);

            process = start(config, Map.of("KEYSWAP_MASTER_KEY", TestKeyswap.MASTER_KEY));
            long startupMillis = awaitHealthy(port);

            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            CompletableFuture<HttpResponse<String>> inFlight = http.sendAsync(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + port + "/openai/v1/chat/completions"))
                    .header("Authorization", "Bearer " + token)
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o-mini\",\"messages\":[]}"))
                    .timeout(Duration.ofSeconds(30))
                    .build(), HttpResponse.BodyHandlers.ofString());
            RecordedRequest atUpstream = upstream.takeRequest(10, TimeUnit.SECONDS);
            assertNotNull(atUpstream, "the request never reached the upstream");
            assertEquals("Bearer " + UPSTREAM_KEY, atUpstream.getHeader("Authorization"));

            long termAt = System.nanoTime();
            process.destroy(); // SIGTERM on Linux and macOS
            HttpResponse<String> response = inFlight.get(30, TimeUnit.SECONDS);
            assertEquals(200, response.statusCode(), response.body());
            assertTrue(response.body().contains("chatcmpl-1"), response.body());

            boolean exited = process.waitFor(DRAIN_TIMEOUT.toSeconds() + 5, TimeUnit.SECONDS);
            long stopMillis = (System.nanoTime() - termAt) / 1_000_000;
            assertTrue(exited, "still running " + stopMillis + " ms after SIGTERM");
            assertEquals(0, process.exitValue(), "exit status after SIGTERM; stderr:\n" + stderr());
            assertTrue(stopMillis <= DRAIN_TIMEOUT.toMillis(), "took " + stopMillis + " ms to stop after SIGTERM");

            String requestId = response.headers().firstValue("x-request-id").orElseThrow();
            try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("keyswap.db"));
                 PreparedStatement q = c.prepareStatement(
                         "SELECT status, provider, input_tokens, output_tokens FROM usage_records WHERE request_id = ?")) {
                q.setString(1, requestId);
                try (ResultSet rs = q.executeQuery()) {
                    assertTrue(rs.next(), "no usage row for " + requestId + " after shutdown");
                    assertEquals(200, rs.getInt("status"));
                    assertEquals("openai", rs.getString("provider"));
                    assertEquals(3, rs.getLong("input_tokens"));
                    assertEquals(5, rs.getLong("output_tokens"));
                }
            }

            System.out.printf("serve: healthy after %d ms, stopped %d ms after SIGTERM%n", startupMillis, stopMillis);
            assertTrue(stderr().contains("draining"), "SIGTERM should start a drain:\n" + stderr());
            String output = stdout() + stderr();
            assertTrue(stderr().contains("serving on http://127.0.0.1:" + port), stderr());
            assertEquals("", stdout(), "serve writes messages and logs to stderr only");
            assertFalse(stderr().contains("SLF4J"), "start-up is free of logging-setup warnings:\n" + stderr());
            for (String secret : List.of(TestKeyswap.MASTER_KEY, token, token.substring(4, 20), UPSTREAM_KEY)) {
                assertFalse(output.contains(secret), "process output reveals a secret");
            }
        }
    }

    @Test
    void malformedMasterKeyInConfigStopsStartupNamingTheKeyButNotItsValue() throws Exception {
        String bad = "this-is-not-a-valid-master-key-SECRETISH";
        Path config = writeConfig(freePort(), "");
        Files.writeString(config, Files.readString(config).replace("vault:\n", "vault:\n  master_key: " + bad + "\n"));

        process = start(config, Map.of()); // KEYSWAP_MASTER_KEY unset, so vault.master_key is used
        assertTrue(process.waitFor(30, TimeUnit.SECONDS), "serve kept running with a malformed master key");
        assertNotEquals(0, process.exitValue());
        assertTrue(stderr().contains("vault.master_key"), stderr());
        assertFalse(stdout().contains(bad) || stderr().contains(bad), "the malformed key's value was printed");
    }

    @Test
    void portAlreadyInUseExits1NamingTheAddress() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            process = start(writeConfig(taken.getLocalPort(), ""), Map.of("KEYSWAP_MASTER_KEY", TestKeyswap.MASTER_KEY));
            assertTrue(process.waitFor(30, TimeUnit.SECONDS), "serve hung after failing to bind");
            assertEquals(1, process.exitValue());
            assertTrue(stderr().contains("cannot listen on 127.0.0.1:" + taken.getLocalPort()), stderr());
        }
    }

    // --- helpers ---

    private Path writeConfig(int port, String extraYaml) throws IOException {
        return Files.writeString(dir.resolve("keyswap.yaml"), """
                server:
                  host: 127.0.0.1
                  port: %d
                  io_threads: 2
                  drain_timeout: %ds
                storage:
                  url: jdbc:sqlite:%s
                vault:
                  master_key_file: %s
                usage:
                  flush_interval: 50ms
                """.formatted(port, DRAIN_TIMEOUT.toSeconds(), dir.resolve("keyswap.db"), dir.resolve("master.key"))
                + extraYaml);
    }

    /** Through the CLI, against the same database the process will open. */
    private static String createToken(Path config) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = new Cli(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8),
                Map.of("KEYSWAP_MASTER_KEY", TestKeyswap.MASTER_KEY))
                .run(new String[] {"keys", "create", "--name", "drain-test", "--config", config.toString()});
        assertEquals(0, code, err.toString(StandardCharsets.UTF_8));
        return out.toString(StandardCharsets.UTF_8).lines().findFirst().orElseThrow();
    }

    private Process start(Path config, Map<String, String> env) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // C1 only: this JVM serves a handful of requests, and C2 compiling in the background would
        // only compete with the test JVM for the CPU (on a busy 2-core box it doubles startup).
        ProcessBuilder pb = new ProcessBuilder(java, "-Xmx256m", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "serve", "--config", config.toString())
                .directory(dir.toFile())
                .redirectOutput(dir.resolve("stdout.txt").toFile())
                .redirectError(dir.resolve("stderr.txt").toFile());
        pb.environment().remove("KEYSWAP_MASTER_KEY");
        pb.environment().putAll(env);
        return pb.start();
    }

    /** Polls /healthz; returns the milliseconds from process start to the first 200. */
    private long awaitHealthy(int port) throws Exception {
        long started = process.info().startInstant().map(i -> i.toEpochMilli()).orElse(System.currentTimeMillis());
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(1)).build();
        HttpRequest health = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/healthz"))
                .timeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + STARTUP_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new AssertionError("serve exited with " + process.exitValue() + " before it was healthy:\n" + stderr());
            }
            try {
                if (http.send(health, HttpResponse.BodyHandlers.ofString()).statusCode() == 200) {
                    return System.currentTimeMillis() - started;
                }
            } catch (ConnectException | java.net.http.HttpConnectTimeoutException e) {
                // not listening yet
            }
            Thread.sleep(25);
        }
        throw new AssertionError("/healthz never answered 200:\n" + stderr());
    }

    private String stdout() throws IOException {
        return Files.readString(dir.resolve("stdout.txt"));
    }

    private String stderr() throws IOException {
        return Files.readString(dir.resolve("stderr.txt"));
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
