package dev.keyswap.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keyswap.auth.ApiKey;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Set;
import okhttp3.mockwebserver.Dispatcher;
import okhttp3.mockwebserver.MockResponse;
import okhttp3.mockwebserver.MockWebServer;
import okhttp3.mockwebserver.RecordedRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RevocationTest {
    @TempDir
    Path dir;

    @Test
    void revokedTokenIsRejectedWithin5sEvenWhenCached() throws Exception {
        try (MockWebServer upstream = new MockWebServer()) {
            upstream.setDispatcher(new Dispatcher() {
                @Override
                public MockResponse dispatch(RecordedRequest request) {
                    return new MockResponse().setBody("{\"data\":[]}");
                }
            });
            upstream.start();
            try (TestKeyswap keyswap = TestKeyswap.start(dir, TestKeyswap.providers(
                    TestKeyswap.map("openai", "http://127.0.0.1:" + upstream.getPort()), TestKeyswap.map("openai", "sk-test")))) {
                ApiKey key = TestKeyswap.key("soon-revoked", Set.of(ApiKey.SCOPE_PROXY), Set.of(), null, null);
                String token = keyswap.token(key);
                HttpClient http = HttpClient.newHttpClient();
                HttpRequest request = HttpRequest.newBuilder(URI.create(keyswap.baseUrl() + "/openai/v1/models"))
                        .header("Authorization", "Bearer " + token).build();
                assertEquals(200, http.send(request, HttpResponse.BodyHandlers.ofString()).statusCode());

                // Revoked behind the cache's back, as another instance or the CLI would.
                keyswap.keyswap.keys().revoke(key.id(), Instant.now());
                long revokedAt = System.nanoTime();
                int status;
                do {
                    status = http.send(request, HttpResponse.BodyHandlers.ofString()).statusCode();
                    Thread.sleep(50);
                } while (status == 200 && System.nanoTime() - revokedAt < 6_000_000_000L);
                long tookMillis = (System.nanoTime() - revokedAt) / 1_000_000;
                assertEquals(401, status);
                assertTrue(tookMillis <= 5_200, "took " + tookMillis + " ms");
            }
        }
    }
}
