package dev.keyswap.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import okhttp3.Headers;
import okhttp3.mockwebserver.MockResponse;
import okhttp3.mockwebserver.MockWebServer;
import okhttp3.mockwebserver.RecordedRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each token slot in, the real key out in the provider's slot, and the token nowhere upstream. */
class KeySwapTest {
    static final String OPENAI_KEY = "sk-test-openai-0000000000000000";
    static final String ANTHROPIC_KEY = "sk-test-anthropic-111111111111";
    static final String GEMINI_KEY = "test-gemini-key-2222222222222";
    static final String AZURE_KEY = "test-azure-key-33333333333333";

    @TempDir
    static Path dir;
    static MockWebServer upstream;
    static TestKeyswap keyswap;
    static String token;
    static HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        upstream = new MockWebServer();
        upstream.start();
        String base = "http://127.0.0.1:" + upstream.getPort();
        keyswap = TestKeyswap.start(dir, TestKeyswap.providers(
                TestKeyswap.map("openai", base, "anthropic", base + "/anthropic-prefix", "gemini", base, "azure-openai", base),
                TestKeyswap.map("openai", OPENAI_KEY, "anthropic", ANTHROPIC_KEY, "gemini", GEMINI_KEY, "azure-openai", AZURE_KEY)));
        token = keyswap.token();
    }

    @AfterAll
    static void stop() throws Exception {
        keyswap.close();
        upstream.shutdown();
    }

    private RecordedRequest send(HttpRequest.Builder request) throws Exception {
        upstream.enqueue(new MockResponse().setBody("{\"ok\":true}")
                .addHeader("Content-Type", "application/json")
                .addHeader("Set-Cookie", "session=upstream-secret"));
        HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), response.body());
        assertEquals("{\"ok\":true}", response.body());
        assertTrue(response.headers().firstValue("x-request-id").orElseThrow().startsWith("req_"));
        assertTrue(response.headers().firstValue("x-proxy-duration-ms").isPresent());
        assertTrue(response.headers().firstValue("set-cookie").isEmpty(), "Set-Cookie must not reach the client");
        RecordedRequest recorded = upstream.takeRequest(5, TimeUnit.SECONDS);
        assertNotNull(recorded);
        assertTokenAbsent(recorded);
        return recorded;
    }

    private static void assertTokenAbsent(RecordedRequest recorded) {
        assertFalse(recorded.getRequestLine().contains(token), "token in request line");
        Headers h = recorded.getHeaders();
        for (String name : h.names()) {
            for (String value : h.values(name)) {
                assertFalse(value.contains(token), "token in header " + name);
            }
        }
        assertFalse(recorded.getBody().clone().readUtf8().contains(token), "token in body");
    }

    private HttpRequest.Builder post(String path) {
        return HttpRequest.newBuilder(URI.create(keyswap.baseUrl() + path))
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o\",\"messages\":[]}"))
                .header("Content-Type", "application/json");
    }

    @Test
    void openAiBearerTokenBecomesServerKeyAsBearer() throws Exception {
        RecordedRequest r = send(post("/openai/v1/chat/completions").header("Authorization", "Bearer " + token)
                .header("OpenAI-Beta", "assistants=v2").header("Cookie", "tracking=1"));
        assertEquals("/v1/chat/completions", r.getPath());
        assertEquals("POST", r.getMethod());
        assertEquals("Bearer " + OPENAI_KEY, r.getHeader("Authorization"));
        assertEquals("assistants=v2", r.getHeader("OpenAI-Beta"));
        assertNull(r.getHeader("Cookie"));
        assertEquals("127.0.0.1:" + upstream.getPort(), r.getHeader("Host"));
        assertEquals("127.0.0.1", r.getHeader("X-Forwarded-For"));
        assertEquals("http", r.getHeader("X-Forwarded-Proto"));
        assertEquals("{\"model\":\"gpt-4o\",\"messages\":[]}", r.getBody().readUtf8());
    }

    /**
     * The subprotocol slot is for WebSocket upgrades only (SPEC section 1): on a plain request,
     * one whose upgrade headers a load balancer stripped, say, it is no token, and the header
     * never reaches the upstream, which once got the token in it.
     */
    @Test
    void aSubprotocolTokenOnAPlainRequestIsNoTokenAndNeverSentOn() throws Exception {
        int before = upstream.getRequestCount();
        HttpResponse<String> refused = http.send(post("/openai/v1/chat/completions")
                .header("Sec-WebSocket-Protocol", "realtime, openai-insecure-api-key." + token).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(401, refused.statusCode(), refused.body());
        assertFalse(refused.body().contains(token), refused.body());
        assertEquals(before, upstream.getRequestCount(), "nothing relayed");

        RecordedRequest r = send(post("/openai/v1/chat/completions").header("Authorization", "Bearer " + token)
                .header("Sec-WebSocket-Protocol", "realtime, openai-insecure-api-key." + token));
        assertNull(r.getHeader("Sec-WebSocket-Protocol"), "meaningless outside an upgrade: dropped whole");
    }

    @Test
    void anthropicXApiKeyTokenBecomesXApiKeyUnderBasePath() throws Exception {
        RecordedRequest r = send(post("/anthropic/v1/messages").header("x-api-key", token)
                .header("anthropic-version", "2023-06-01"));
        assertEquals("/anthropic-prefix/v1/messages", r.getPath());
        assertEquals(ANTHROPIC_KEY, r.getHeader("x-api-key"));
        assertNull(r.getHeader("Authorization"));
        assertEquals("2023-06-01", r.getHeader("anthropic-version"));
    }

    @Test
    void anthropicBearerTokenFromCurrentSdksBecomesXApiKeyOnly() throws Exception {
        RecordedRequest r = send(post("/anthropic/v1/messages").header("Authorization", "Bearer " + token)
                .header("anthropic-version", "2023-06-01"));
        assertEquals(ANTHROPIC_KEY, r.getHeader("x-api-key"));
        assertNull(r.getHeader("Authorization"), "upstream Anthropic gets x-api-key alone");
    }

    @Test
    void geminiHeaderTokenBecomesGoogApiKeyHeader() throws Exception {
        RecordedRequest r = send(post("/gemini/v1beta/models/gemini-2.0-flash:generateContent").header("x-goog-api-key", token));
        assertEquals("/v1beta/models/gemini-2.0-flash:generateContent", r.getPath());
        assertEquals(GEMINI_KEY, r.getHeader("x-goog-api-key"));
        assertNull(r.getRequestUrl().queryParameter("key"));
    }

    @Test
    void geminiQueryTokenStaysInQuerySlotAndOtherParametersPassUnchanged() throws Exception {
        RecordedRequest r = send(post("/gemini/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse&key=" + token + "&x=a%20b"));
        assertEquals(GEMINI_KEY, r.getRequestUrl().queryParameter("key"));
        assertEquals("sse", r.getRequestUrl().queryParameter("alt"));
        assertTrue(r.getPath().contains("x=a%20b"), r.getPath());
        assertNull(r.getHeader("x-goog-api-key"));
    }

    @Test
    void azureApiKeySlotIsUsed() throws Exception {
        RecordedRequest r = send(post("/azure-openai/openai/deployments/d1/chat/completions?api-version=2024-10-21")
                .header("api-key", token));
        assertEquals(AZURE_KEY, r.getHeader("api-key"));
        assertEquals("2024-10-21", r.getRequestUrl().queryParameter("api-version"));
    }

    @Test
    void queryTokenForBearerProviderIsRemovedFromQuery() throws Exception {
        RecordedRequest r = send(post("/openai/v1/chat/completions?key=" + token + "&stream=false"));
        assertEquals("/v1/chat/completions?stream=false", r.getPath());
        assertEquals("Bearer " + OPENAI_KEY, r.getHeader("Authorization"));
    }

    @Test
    void everySlotIsStrippedWhicheverHeldTheToken() throws Exception {
        RecordedRequest r = send(post("/openai/v1/chat/completions").header("Authorization", "Bearer " + token)
                .header("x-api-key", "other-1").header("x-goog-api-key", "other-2").header("api-key", "other-3"));
        assertEquals("Bearer " + OPENAI_KEY, r.getHeader("Authorization"));
        assertNull(r.getHeader("x-api-key"));
        assertNull(r.getHeader("x-goog-api-key"));
        assertNull(r.getHeader("api-key"));
        // The query slot too, also percent-encoded: Google reads 'k%65y' as 'key'.
        r = send(post("/openai/v1/chat/completions?k%65y=" + token + "&stream=false").header("Authorization", "Bearer " + token));
        assertEquals("/v1/chat/completions?stream=false", r.getPath());
        // The split-key headers are stripped too: see ConnectionsTest.splitKeyWorksOnlyWithItsClientPartAndBothPartsStayHome.
    }

    /** RFC 9110 section 7.6.1: fields for this hop only, and every field Connection names, stay here. */
    @Test
    void hopByHopFieldsAndTheFieldsConnectionNamesAreNotForwarded() throws Exception {
        for (String connection : new String[] {"keep-alive, X-Hop", "X-Hop", " Keep-Alive ,x-hop , close-not"}) {
            upstream.enqueue(new MockResponse().setBody("{}"));
            try (RawHttp client = new RawHttp(keyswap.port())) {
                client.send("POST /openai/v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token
                        + "\r\nConnection: " + connection + "\r\nX-Hop: 1\r\nClose-Not: 2\r\nKeep-Alive: timeout=5\r\n"
                        + "TE: trailers\r\nProxy-Authorization: Basic eDp5\r\nX-Kept: yes\r\nContent-Length: 2\r\n\r\n{}");
                assertEquals(200, client.read().status());
            }
            RecordedRequest r = upstream.takeRequest(5, TimeUnit.SECONDS);
            assertNotNull(r);
            for (String gone : new String[] {"X-Hop", "Keep-Alive", "TE", "Proxy-Authorization"}) {
                assertNull(r.getHeader(gone), gone + " with Connection: " + connection);
            }
            assertEquals(connection.contains("close-not") ? null : "2", r.getHeader("Close-Not"), connection);
            assertEquals("yes", r.getHeader("X-Kept"));
            assertTokenAbsent(r);
        }
    }

    @Test
    void upstreamErrorStatusIsRelayedUnchanged() throws Exception {
        upstream.enqueue(new MockResponse().setResponseCode(429).addHeader("Retry-After", "7")
                .addHeader("Content-Type", "application/json")
                .setBody("{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\"}}"));
        HttpResponse<String> response = http.send(post("/openai/v1/chat/completions")
                .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(429, response.statusCode());
        assertEquals("7", response.headers().firstValue("retry-after").orElseThrow());
        assertEquals("{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\"}}", response.body());
        upstream.takeRequest(5, TimeUnit.SECONDS);
    }
}
