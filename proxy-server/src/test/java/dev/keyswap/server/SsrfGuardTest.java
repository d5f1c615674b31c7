package dev.keyswap.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keyswap.auth.ApiKey;
import dev.keyswap.connect.AuthType;
import dev.keyswap.connect.Connection;
import dev.keyswap.store.ApiKeyStore;
import dev.keyswap.store.ConnectionStore;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import okhttp3.mockwebserver.MockResponse;
import okhttp3.mockwebserver.MockWebServer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * A tenant's connection may not point Keyswap at loopback, link-local (cloud metadata), private
 * or reserved addresses: refused on the resolved address, before any packet is sent to it.
 */
class SsrfGuardTest {
    @TempDir
    static Path dir;
    static MockWebServer upstream;
    static TestKeyswap keyswap;

    @BeforeAll
    static void start() throws Exception {
        upstream = new MockWebServer();
        upstream.enqueue(new MockResponse().setBody("must not be reached"));
        upstream.start();
        // The operator's own provider may be on loopback; tenants' connections may not.
        keyswap = TestKeyswap.start(dir, TestKeyswap.providers(TestKeyswap.map("openai", "http://127.0.0.1:" + upstream.getPort()),
                TestKeyswap.map("openai", "sk-test")));
    }

    @AfterAll
    static void stop() throws Exception {
        keyswap.close();
        upstream.shutdown();
    }

    @ParameterizedTest
    @ValueSource(strings = {"http://127.0.0.1:%d", "http://localhost:%d", "http://169.254.169.254", "http://10.0.0.1",
        "http://192.168.1.1:%d", "http://[::1]:%d", "http://100.64.0.1", "http://0.0.0.0:%d"})
    void privateAndMetadataAddressesAreRefused(String baseUrl) throws Exception {
        Connection c = new Connection(ConnectionStore.newId(), "act_admin", "ssrf-" + System.nanoTime(), null,
                baseUrl.formatted(upstream.getPort()), AuthType.BEARER, null, Map.of(), List.of(), Instant.now());
        keyswap.keyswap.connections().create(c, List.of("tenant-secret-000000"));
        String token = keyswap.token(new ApiKey(ApiKeyStore.newId(), "act_admin", "t", Set.of(ApiKey.SCOPE_PROXY), Set.of(), false,
                null, null, null, Instant.now(), null, Set.of(c.id())));
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(keyswap.baseUrl() + "/proxy/" + c.id() + "/latest/meta-data"))
                .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(403, r.statusCode(), r.body());
        assertTrue(r.body().contains("\"code\":\"upstream_address_not_allowed\""), r.body());
        assertNull(upstream.takeRequest(50, TimeUnit.MILLISECONDS), "nothing may reach a refused address");
    }
}
