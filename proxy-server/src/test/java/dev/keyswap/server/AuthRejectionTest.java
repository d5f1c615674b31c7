package dev.keyswap.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keyswap.auth.ApiKey;
import dev.keyswap.auth.TokenFormat;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Set;
import okhttp3.mockwebserver.MockResponse;
import okhttp3.mockwebserver.MockWebServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every refused token gets SPEC's JSON error, and the upstream receives nothing. */
class AuthRejectionTest {
    @TempDir
    static Path dir;
    static MockWebServer upstream;
    static TestKeyswap keyswap;
    static final HttpClient http = HttpClient.newHttpClient();
    static final ObjectMapper json = new ObjectMapper();

    @BeforeAll
    static void start() throws Exception {
        upstream = new MockWebServer();
        upstream.start();
        String base = "http://127.0.0.1:" + upstream.getPort();
        keyswap = TestKeyswap.start(dir, TestKeyswap.providers(TestKeyswap.map("openai", base, "anthropic", base),
                TestKeyswap.map("openai", "sk-test-server", "anthropic", "sk-test-server-2")));
    }

    @AfterAll
    static void stop() throws Exception {
        keyswap.close();
        upstream.shutdown();
    }

    @AfterEach
    void upstreamSawNothing() {
        assertEquals(0, upstream.getRequestCount(), "a refused request must never reach the upstream");
    }

    private JsonNode refused(String path, String authorization, int status, String code) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(keyswap.baseUrl() + path))
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o\"}"));
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        upstream.enqueue(new MockResponse().setBody("should not be sent"));
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(status, r.statusCode(), r.body());
        assertEquals("application/json", r.headers().firstValue("content-type").orElseThrow());
        JsonNode error = json.readTree(r.body()).get("error");
        assertEquals(code, error.get("code").asText());
        assertFalse(error.get("type").asText().isEmpty());
        assertFalse(error.get("message").asText().isEmpty());
        assertEquals(r.headers().firstValue("x-request-id").orElseThrow(), error.get("request_id").asText());
        if (authorization != null) {
            assertFalse(r.body().contains(authorization.replace("Bearer ", "")), "the token must not be echoed");
        }
        return error;
    }

    @Test
    void preflightWithNoOriginsConfiguredIsRefusedBeforeAuthAndOtherResponsesGetNoCorsHeaders() throws Exception {
        HttpResponse<String> preflight = http.send(HttpRequest.newBuilder(URI.create(keyswap.baseUrl() + "/openai/v1/chat/completions"))
                .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
                .header("Origin", "https://app.example").header("Access-Control-Request-Method", "POST").build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(403, preflight.statusCode());
        assertEquals("origin_not_allowed", json.readTree(preflight.body()).get("error").get("code").asText());
        assertTrue(preflight.headers().firstValue("access-control-allow-origin").isEmpty());
        HttpResponse<String> refusedWithOrigin = http.send(HttpRequest.newBuilder(URI.create(keyswap.baseUrl() + "/openai/v1/models"))
                .header("Origin", "https://app.example").build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(401, refusedWithOrigin.statusCode(), "not a preflight: auth answers it");
        assertTrue(refusedWithOrigin.headers().firstValue("access-control-allow-origin").isEmpty());
        assertTrue(refusedWithOrigin.headers().firstValue("vary").isEmpty());
    }

    @Test
    void missingTokenIs401() throws Exception {
        assertEquals("authentication_error", refused("/openai/v1/chat/completions", null, 401, "missing_token").get("type").asText());
    }

    @Test
    void unknownWellFormedTokenIs401() throws Exception {
        refused("/openai/v1/chat/completions", "Bearer " + TokenFormat.newToken(), 401, "invalid_token");
    }

    @Test
    void badChecksumTokenIs401() throws Exception {
        String token = keyswap.token();
        char last = token.charAt(token.length() - 1);
        String typo = token.substring(0, token.length() - 1) + (last == 'a' ? 'b' : 'a');
        refused("/openai/v1/chat/completions", "Bearer " + typo, 401, "invalid_token");
    }

    @Test
    void foreignKeyShapeIs401() throws Exception {
        refused("/openai/v1/chat/completions", "Bearer sk-proj-notakeyswaptoken", 401, "invalid_token");
    }

    @Test
    void revokedTokenIs401() throws Exception {
        ApiKey key = TestKeyswap.key("revoked", Set.of(ApiKey.SCOPE_PROXY), Set.of(), null, null);
        String token = keyswap.token(key);
        keyswap.keyswap.keys().revoke(key.id(), Instant.now());
        refused("/openai/v1/chat/completions", "Bearer " + token, 401, "token_revoked");
    }

    @Test
    void expiredTokenIs401() throws Exception {
        String token = keyswap.token(TestKeyswap.key("expired", Set.of(ApiKey.SCOPE_PROXY), Set.of(), Instant.now().minusSeconds(1), null));
        refused("/openai/v1/chat/completions", "Bearer " + token, 401, "token_expired");
    }

    @Test
    void tokenForAnotherProviderIs403() throws Exception {
        String token = keyswap.token(TestKeyswap.key("anthropic-only", Set.of(ApiKey.SCOPE_PROXY), Set.of("anthropic"), null, null));
        refused("/openai/v1/chat/completions", "Bearer " + token, 403, "provider_not_allowed");
    }

    @Test
    void tokenWithoutProxyScopeIs403() throws Exception {
        String token = keyswap.token(TestKeyswap.key("reader", Set.of(ApiKey.SCOPE_READ), Set.of(), null, null));
        refused("/openai/v1/chat/completions", "Bearer " + token, 403, "insufficient_scope");
    }

    @Test
    void unknownProviderIs404() throws Exception {
        refused("/nosuch/v1/chat", "Bearer " + keyswap.token(), 404, "unknown_provider");
    }
}
