package dev.keyswap.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keyswap.usage.UsageRecord;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import okhttp3.mockwebserver.Dispatcher;
import okhttp3.mockwebserver.MockResponse;
import okhttp3.mockwebserver.MockWebServer;
import okhttp3.mockwebserver.RecordedRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every proxied request leaves a usage row: status, durations, bytes, model and tokens; never a secret. */
class UsageRecordTest {
    static final String SERVER_KEY = "sk-test-usage-server-key-abcdef";
    @TempDir
    static Path dir;
    static MockWebServer upstream;
    static TestKeyswap keyswap;
    static String token;
    static final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        upstream = new MockWebServer();
        upstream.setDispatcher(new Dispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest request) {
                String path = request.getPath();
                if (path.startsWith("/v1/chat/completions?stream")) {
                    return new MockResponse().addHeader("Content-Type", "text/event-stream").setBody(
                            "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n"
                            + "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":3,\"total_tokens\":14}}\n\n"
                            + "data: [DONE]\n\n");
                }
                if (path.startsWith("/v1/chat/completions?compressing")) {
                    // As a provider's CDN does: gzip when the request accepts it.
                    String json = "{\"id\":\"c3\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[],"
                            + "\"usage\":{\"prompt_tokens\":40,\"completion_tokens\":2,\"total_tokens\":42}}";
                    String accepted = request.getHeader("Accept-Encoding");
                    if (accepted != null && accepted.contains("gzip")) {
                        okio.Buffer gzipped = new okio.Buffer();
                        try (okio.BufferedSink sink = okio.Okio.buffer(new okio.GzipSink(gzipped))) {
                            sink.writeUtf8(json);
                        } catch (java.io.IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                        return new MockResponse().addHeader("Content-Type", "application/json")
                                .addHeader("Content-Encoding", "gzip").setBody(gzipped);
                    }
                    return new MockResponse().addHeader("Content-Type", "application/json").setBody(json);
                }
                if (path.startsWith("/v1/chat/completions")) {
                    return new MockResponse().addHeader("Content-Type", "application/json").setBody(
                            "{\"id\":\"c2\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,"
                            + "\"message\":{\"role\":\"assistant\",\"content\":\"Hello\"},\"finish_reason\":\"stop\"}],"
                            + "\"usage\":{\"prompt_tokens\":1000000,\"completion_tokens\":100000,\"total_tokens\":1100000}}");
                }
                return new MockResponse().setResponseCode(500).setBody("{\"error\":{\"message\":\"boom\"}}");
            }
        });
        upstream.start();
        keyswap = TestKeyswap.start(dir, TestKeyswap.providers(TestKeyswap.map("openai", "http://127.0.0.1:" + upstream.getPort()),
                TestKeyswap.map("openai", SERVER_KEY)));
        token = keyswap.token();
    }

    @AfterAll
    static void stop() throws Exception {
        keyswap.close();
        upstream.shutdown();
    }

    private static HttpResponse<String> post(String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(keyswap.baseUrl() + path))
                .header("Authorization", "Bearer " + token).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static UsageRecord recordOf(HttpResponse<String> r) throws InterruptedException {
        return keyswap.awaitUsageRecord(r.headers().firstValue("x-request-id").orElseThrow());
    }

    @Test
    void jsonResponseIsMeteredWithModelTokensAndCost() throws Exception {
        String body = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        HttpResponse<String> r = post("/openai/v1/chat/completions?trace=1", body);
        assertEquals(200, r.statusCode());
        UsageRecord u = recordOf(r);
        assertEquals(200, u.status());
        assertEquals("POST", u.method());
        assertEquals("/v1/chat/completions", u.path(), "the path is stored without its query");
        assertEquals("openai", u.provider());
        assertEquals("act_admin", u.actorId());
        assertTrue(u.tokenId().startsWith("key_"));
        assertEquals(body.length(), u.bytesIn());
        assertEquals(r.body().length(), u.bytesOut());
        assertTrue(u.durationMicros() > 0 && u.upstreamMicros() > 0 && u.upstreamMicros() <= u.durationMicros(), u.toString());
        assertEquals("gpt-4o-2024-08-06", u.model());
        assertEquals(1_000_000L, u.inputTokens());
        assertEquals(100_000L, u.outputTokens());
        // gpt-4o example price: 2.5 USD per million in, 10 per million out.
        assertEquals(2.5 + 1.0, u.costUsd(), 1e-9);
    }

    @Test
    void aClientAcceptingCompressionStillGetsItsResponseMetered() throws Exception {
        // SDKs send Accept-Encoding: gzip, deflate, br; a gzipped body hid the usage from the scan.
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(keyswap.baseUrl() + "/openai/v1/chat/completions?compressing=1"))
                .header("Authorization", "Bearer " + token).header("Accept-Encoding", "gzip, deflate, br")
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        assertTrue(r.body().contains("\"total_tokens\":42"), "the client got it uncompressed: " + r.body());
        UsageRecord u = recordOf(r);
        assertEquals("gpt-4o-2024-08-06", u.model());
        assertEquals(40L, u.inputTokens());
        assertEquals(2L, u.outputTokens());
        assertNotNull(u.costUsd());
    }

    @Test
    void sseResponseIsMeteredFromItsFinalUsageChunk() throws Exception {
        HttpResponse<String> r = post("/openai/v1/chat/completions?stream=true", "{\"stream\":true}");
        assertEquals(200, r.statusCode());
        UsageRecord u = recordOf(r);
        assertEquals("gpt-4o-mini-2024-07-18", u.model());
        assertEquals(11L, u.inputTokens());
        assertEquals(3L, u.outputTokens());
        assertNotNull(u.costUsd());
    }

    @Test
    void upstreamErrorIsMeteredWithItsStatus() throws Exception {
        HttpResponse<String> r = post("/openai/v1/embeddings", "{}");
        assertEquals(500, r.statusCode());
        UsageRecord u = recordOf(r);
        assertEquals(500, u.status());
        assertNull(u.inputTokens());
        assertNull(u.costUsd());
    }

    @Test
    void theDatabaseFileHoldsNoTokenAndNoKey() throws Exception {
        HttpResponse<String> r = post("/openai/v1/chat/completions", "{\"secret\":\"" + token + "\"}");
        recordOf(r);
        keyswap.keyswap.usageLog().flush();
        for (Path file : Files.list(dir).filter(p -> p.getFileName().toString().startsWith("keyswap.db")).toList()) {
            String bytes = new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1);
            assertFalse(bytes.contains(token), file + " contains the token");
            assertFalse(bytes.contains(SERVER_KEY), file + " contains the server key");
            assertFalse(bytes.contains(TestKeyswap.MASTER_KEY), file + " contains the master key");
        }
    }
}
