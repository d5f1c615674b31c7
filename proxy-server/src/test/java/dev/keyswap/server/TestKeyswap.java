package dev.keyswap.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.keyswap.auth.ApiKey;
import dev.keyswap.pipeline.RelayMetrics;
import dev.keyswap.server.config.ConfigLoader;
import dev.keyswap.server.config.Settings;
import dev.keyswap.store.ApiKeyStore;
import dev.keyswap.usage.UsageRecord;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A real Keyswap for a test: its own SQLite file and master key under a temp directory, listening
 * on an ephemeral 127.0.0.1 port, configured by YAML exactly as a user would.
 */
final class TestKeyswap implements AutoCloseable {
    static final String MASTER_KEY = Base64.getEncoder().encodeToString(new byte[] {
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32});

    final Keyswap keyswap;
    final Path dir;

    private TestKeyswap(Keyswap keyswap, Path dir) {
        this.keyswap = keyswap;
        this.dir = dir;
    }

    /** @param extraYaml appended to the generated config (providers, timeouts, …) */
    static TestKeyswap start(Path dir, String extraYaml) {
        return start(dir, extraYaml, Map.of("KEYSWAP_MASTER_KEY", MASTER_KEY));
    }

    /** @param env the process environment Keyswap sees (KEYSWAP_MASTER_KEY, variables the YAML names) */
    static TestKeyswap start(Path dir, String extraYaml, Map<String, String> env) {
        String yaml = """
                server:
                  host: 127.0.0.1
                  port: 0
                  io_threads: 2
                storage:
                  url: jdbc:sqlite:%s
                vault:
                  master_key_file: %s
                usage:
                  flush_interval: 50ms
                """.formatted(dir.resolve("keyswap.db"), dir.resolve("master.key"));
        try {
            Path config = dir.resolve("keyswap.yaml");
            Files.writeString(config, merge(yaml, extraYaml));
            Settings settings = ConfigLoader.load(config, true, env);
            return new TestKeyswap(Keyswap.start(settings, env), dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Deep-merges two YAML documents, the second winning, so tests can add to any section. */
    static String merge(String base, String extra) throws IOException {
        ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
        JsonNode into = yaml.readTree(base);
        JsonNode from = yaml.readTree(extra.isBlank() ? "{}" : extra);
        mergeInto((ObjectNode) into, from);
        return yaml.writeValueAsString(into);
    }

    private static void mergeInto(ObjectNode into, JsonNode from) {
        from.fields().forEachRemaining(e -> {
            JsonNode existing = into.get(e.getKey());
            if (existing instanceof ObjectNode o && e.getValue().isObject()) {
                mergeInto(o, e.getValue());
            } else {
                into.set(e.getKey(), e.getValue());
            }
        });
    }

    /** YAML for providers pointing at local mocks: name → base URL, each with a server key. */
    static String providers(Map<String, String> baseUrls, Map<String, String> serverKeys) {
        StringBuilder sb = new StringBuilder("providers:\n");
        for (Map.Entry<String, String> e : baseUrls.entrySet()) {
            sb.append("  ").append(e.getKey()).append(":\n")
                    .append("    base_url: ").append(e.getValue()).append('\n');
            String key = serverKeys.get(e.getKey());
            if (key != null) {
                sb.append("    api_key: ").append(key).append('\n');
            }
        }
        return sb.toString();
    }

    static Map<String, String> map(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }

    String baseUrl() {
        return "http://127.0.0.1:" + keyswap.port();
    }

    int port() {
        return keyswap.port();
    }

    /**
     * Waits up to {@code seconds} for the relay's metrics to reach {@code done} (exchanges end on
     * the event loop, after the client or upstream side the test sees); returns them either way,
     * for the test to assert on.
     */
    RelayMetrics awaitRelay(Predicate<RelayMetrics> done, int seconds) throws InterruptedException {
        RelayMetrics relay = keyswap.proxy().relayMetrics();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!done.test(relay) && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        return relay;
    }

    /**
     * The usage record of a request, waited for up to 5 s: records reach the database through the
     * usage log's writer, after the response the test saw.
     */
    UsageRecord awaitUsageRecord(String requestId) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < deadline) {
            Optional<UsageRecord> found = keyswap.usage().findByRequestId(requestId);
            if (found.isPresent()) {
                return found.get();
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no usage record for " + requestId);
    }

    /** A proxy-scoped token for every provider. */
    String token() {
        return token(key("test", Set.of(ApiKey.SCOPE_PROXY), Set.of(), null, null));
    }

    String token(ApiKey key) {
        return Keyswap.createKey(keyswap.keys(), keyswap.hasher(), key);
    }

    static ApiKey key(String name, Set<String> scopes, Set<String> providers, Instant expiresAt, Integer rpm) {
        return new ApiKey(ApiKeyStore.newId(), "act_admin", name, scopes, providers, true, rpm, expiresAt, null,
                Instant.now(), null, Set.of());
    }

    @Override
    public void close() {
        keyswap.close();
    }
}
