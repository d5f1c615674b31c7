package dev.keyswap.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keyswap.auth.ApiKey;
import dev.keyswap.connect.AuthType;
import dev.keyswap.connect.Connection;
import dev.keyswap.store.ApiKeyStore;
import dev.keyswap.store.ConnectionStore;
import dev.keyswap.store.Database;
import dev.keyswap.vault.MasterKey;
import dev.keyswap.vault.Vault;
import dev.keyswap.vault.VaultException;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import okhttp3.mockwebserver.Dispatcher;
import okhttp3.mockwebserver.MockResponse;
import okhttp3.mockwebserver.MockWebServer;
import okhttp3.mockwebserver.RecordedRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `keyswap vault rotate` while requests flow: none fails, tokens keep working, and afterwards the
 * old master key opens nothing.
 */
class VaultRotationUnderLoadTest {
    static final String OLD = Base64.getEncoder().encodeToString(filled((byte) 7));
    static final String NEW = Base64.getEncoder().encodeToString(filled((byte) 9));
    @TempDir
    Path dir;

    static byte[] filled(byte b) {
        byte[] k = new byte[32];
        java.util.Arrays.fill(k, b);
        return k;
    }

    @Test
    void noRequestFailsWhileRotatingAndTheOldKeyOpensNothingAfter() throws Exception {
        try (MockWebServer upstream = new MockWebServer()) {
            upstream.setDispatcher(new Dispatcher() {
                @Override
                public MockResponse dispatch(RecordedRequest r) {
                    String auth = r.getHeader("Authorization");
                    return auth != null && auth.startsWith("Bearer rotating-secret-")
                            ? new MockResponse().setBody("{\"ok\":true}") : new MockResponse().setResponseCode(401);
                }
            });
            upstream.start();
            String yaml = TestKeyswap.merge("upstream:\n  allow_private_addresses: [127.0.0.1]\n",
                    TestKeyswap.providers(TestKeyswap.map("openai", "http://127.0.0.1:" + upstream.getPort()), Map.of()));
            List<String> ids = new ArrayList<>();
            String token;
            try (TestKeyswap before = TestKeyswap.start(dir, yaml, Map.of("KEYSWAP_MASTER_KEY", OLD))) {
                for (int i = 0; i < 40; i++) {
                    Connection c = new Connection(ConnectionStore.newId(), "act_admin", "c" + i, null, "http://127.0.0.1:" + upstream.getPort(),
                            AuthType.BEARER, null, Map.of(), List.of(), Instant.now());
                    before.keyswap.connections().create(c, List.of("rotating-secret-" + i + "a", "rotating-secret-" + i + "b"));
                    ids.add(c.id());
                }
                token = before.token(new ApiKey(ApiKeyStore.newId(), "act_admin", "t", Set.of(ApiKey.SCOPE_PROXY), Set.of(), false,
                        null, null, null, Instant.now(), null, Set.copyOf(ids)));
            }

            // Every instance restarts with the ring [NEW, OLD]; then rotation runs beside the traffic.
            String ringYaml = TestKeyswap.merge(yaml, "vault:\n  previous_master_keys: [\"" + OLD + "\"]\n");
            Map<String, String> newEnv = Map.of("KEYSWAP_MASTER_KEY", NEW);
            AtomicInteger ok = new AtomicInteger();
            List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
            AtomicBoolean rotating = new AtomicBoolean(true);
            try (TestKeyswap during = TestKeyswap.start(dir, ringYaml, newEnv)) {
                HttpClient http = HttpClient.newHttpClient();
                Thread load = new Thread(() -> {
                    int i = 0;
                    while (rotating.get() || i < 80) {
                        String id = ids.get(i++ % ids.size());
                        try {
                            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(during.baseUrl() + "/proxy/" + id + "/v1/x"))
                                    .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.ofString());
                            if (r.statusCode() == 200) {
                                ok.incrementAndGet();
                            } else {
                                failures.add(r.statusCode() + " " + r.body());
                            }
                        } catch (Exception e) {
                            failures.add(e.toString());
                        }
                    }
                });
                load.start();
                Thread.sleep(200);
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                ByteArrayOutputStream err = new ByteArrayOutputStream();
                int exit = new Cli(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8), newEnv)
                        .run(new String[] {"vault", "rotate", "--batch", "5", "--config", dir.resolve("keyswap.yaml").toString()});
                rotating.set(false);
                load.join();
                String said = err.toString(StandardCharsets.UTF_8) + out.toString(StandardCharsets.UTF_8);
                assertEquals(0, exit, said);
                // 80 connection secrets and the stored token pepper.
                assertTrue(said.contains("re-sealed 81 secrets"), said);
                assertFalse(said.contains(OLD) || said.contains(NEW), "no master key in any output");
            }
            assertTrue(failures.isEmpty(), failures.size() + " requests failed during rotation, first: " + (failures.isEmpty() ? "" : failures.get(0)));
            assertTrue(ok.get() >= 80, "requests served: " + ok.get());

            // The old key alone opens nothing now, and is refused at start.
            try (Database db = Database.open("jdbc:sqlite:" + dir.resolve("keyswap.db"))) {
                ConnectionStore oldOnly = new ConnectionStore(db, new Vault(List.of(MasterKey.of(filled((byte) 7)))));
                for (String id : ids) {
                    Connection c = oldOnly.get(id).orElseThrow();
                    assertThrows(VaultException.class, () -> oldOnly.openSecrets(c));
                }
            }
            assertThrows(IllegalStateException.class, () -> TestKeyswap.start(dir, yaml, Map.of("KEYSWAP_MASTER_KEY", OLD)));
            try (TestKeyswap after = TestKeyswap.start(dir, yaml, newEnv)) {
                HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(after.baseUrl() + "/proxy/" + ids.get(0) + "/v1/x"))
                        .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(200, r.statusCode(), "the new key alone serves everything, tokens included");
            }
            assertTrue(Files.exists(dir.resolve("keyswap.db")));
        }
    }
}
