package dev.keyswap.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keyswap.auth.ApiKey;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import okhttp3.mockwebserver.Dispatcher;
import okhttp3.mockwebserver.MockResponse;
import okhttp3.mockwebserver.MockWebServer;
import okhttp3.mockwebserver.RecordedRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Keep-alive on both sides, Expect: 100-continue, CORS and rate limits, over raw sockets. */
class ConnectionBehaviourTest {
    @TempDir
    static Path dir;
    static MockWebServer upstream;
    static TestKeyswap keyswap;
    static String token;

    @BeforeAll
    static void start() throws Exception {
        upstream = new MockWebServer();
        upstream.setDispatcher(new Dispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest request) {
                // An upstream's own CORS policy: Keyswap's (cors.allowed_origins) decides instead.
                return new MockResponse().setBody("{\"echo\":\"" + request.getBody().size() + "\"}")
                        .addHeader("Content-Type", "application/json").addHeader("Access-Control-Allow-Origin", "*")
                        .addHeader("Access-Control-Allow-Credentials", "true");
            }
        });
        upstream.start();
        keyswap = TestKeyswap.start(dir, TestKeyswap.providers(TestKeyswap.map("openai", "http://127.0.0.1:" + upstream.getPort()),
                TestKeyswap.map("openai", "sk-test-conn")) + """
                cors:
                  allowed_origins: [https://app.example]
                server:
                  client_idle_timeout: 1s
                """);
        token = keyswap.token();
    }

    @AfterAll
    static void stop() throws Exception {
        keyswap.close();
        upstream.shutdown();
    }

    private static String get(String path, String extraHeaders) {
        return "GET " + path + " HTTP/1.1\r\nHost: keyswap\r\nAuthorization: Bearer " + token + "\r\n" + extraHeaders + "\r\n";
    }

    @Test
    void manySequentialRequestsShareFewUpstreamConnections() throws Exception {
        long connectionsBefore = keyswap.keyswap.proxy().upstreamMetrics().connections();
        int requestsBefore = upstream.getRequestCount();
        try (RawHttp client = new RawHttp(keyswap.port())) {
            for (int i = 0; i < 50; i++) {
                client.send(get("/openai/v1/models", ""));
                RawHttp.Response r = client.read();
                assertEquals(200, r.status(), r.body());
            }
        }
        assertEquals(requestsBefore + 50, upstream.getRequestCount());
        long opened = keyswap.keyswap.proxy().upstreamMetrics().connections() - connectionsBefore;
        assertTrue(opened <= 2, "50 sequential requests opened " + opened + " upstream connections");
    }

    @Test
    void locallyAnsweredGetKeepsTheConnectionUsable() throws Exception {
        try (RawHttp client = new RawHttp(keyswap.port())) {
            client.send("GET /healthz HTTP/1.1\r\nHost: keyswap\r\n\r\n");
            assertEquals(200, client.read().status());
            client.send("GET /openai/v1/models HTTP/1.1\r\nHost: keyswap\r\n\r\n");
            assertEquals(401, client.read().status());
            client.send(get("/openai/v1/models", ""));
            assertEquals(200, client.read().status());
        }
    }

    @Test
    void idleKeepAliveConnectionIsClosedAfterTheClientIdleTimeout() throws Exception {
        try (RawHttp client = new RawHttp(keyswap.port())) {
            client.send(get("/openai/v1/models", ""));
            assertEquals(200, client.read().status());
            long start = System.nanoTime();
            assertTrue(client.closedByServer());
            long ms = (System.nanoTime() - start) / 1_000_000;
            assertTrue(ms >= 800 && ms < 5000, "closed after " + ms + " ms");
        }
    }

    @Test
    void connectionCloseIsHonoured() throws Exception {
        try (RawHttp client = new RawHttp(keyswap.port())) {
            client.send(get("/openai/v1/models", "Connection: close\r\n"));
            RawHttp.Response r = client.read();
            assertEquals(200, r.status());
            assertEquals("close", r.header("connection"));
            assertTrue(client.closedByServer());
        }
    }

    @Test
    void expectContinueIsAnsweredOnlyAfterTheTokenIsAccepted() throws Exception {
        try (RawHttp client = new RawHttp(keyswap.port())) {
            client.send("POST /openai/v1/chat/completions HTTP/1.1\r\nHost: keyswap\r\nAuthorization: Bearer " + token
                    + "\r\nContent-Type: application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
            assertEquals(100, client.read().status());
            client.send("{}");
            RawHttp.Response r = client.read();
            assertEquals(200, r.status());
            assertEquals("{\"echo\":\"2\"}", r.body());
        }
        int before = upstream.getRequestCount();
        try (RawHttp client = new RawHttp(keyswap.port())) {
            client.send("POST /openai/v1/chat/completions HTTP/1.1\r\nHost: keyswap\r\nAuthorization: Bearer ptk_wrong"
                    + "\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
            RawHttp.Response r = client.read();
            assertEquals(401, r.status(), "a refused token gets its answer instead of 100 Continue");
            assertTrue(client.closedByServer(), "the unread body means the connection closes");
        }
        assertEquals(before, upstream.getRequestCount());
    }

    @Test
    void corsPreflightIsAnsweredBeforeAuthForAllowedOrigins() throws Exception {
        try (RawHttp client = new RawHttp(keyswap.port())) {
            client.send("OPTIONS /openai/v1/chat/completions HTTP/1.1\r\nHost: keyswap\r\nOrigin: https://app.example\r\n"
                    + "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: authorization, content-type\r\n\r\n");
            RawHttp.Response r = client.read();
            assertEquals(204, r.status());
            assertEquals("https://app.example", r.header("access-control-allow-origin"));
            assertEquals("authorization, content-type", r.header("access-control-allow-headers"));
            assertTrue(r.header("vary").contains("Origin"));
            client.send(get("/openai/v1/models", "Origin: https://app.example\r\n"));
            RawHttp.Response proxied = client.read();
            assertEquals(200, proxied.status());
            assertEquals("https://app.example", proxied.header("access-control-allow-origin"));
            assertTrue(proxied.header("vary").contains("Origin"));
            assertNull(proxied.header("access-control-allow-credentials"), "nothing of the upstream's CORS goes on");
            // An origin not allowed, and no origin at all: the upstream's '*' let any page read these.
            client.send(get("/openai/v1/models", "Origin: https://evil.example\r\n"));
            RawHttp.Response foreign = client.read();
            assertEquals(200, foreign.status());
            assertNull(foreign.header("access-control-allow-origin"), foreign.headers().toString());
            assertNull(foreign.header("access-control-allow-credentials"));
            client.send(get("/openai/v1/models", ""));
            RawHttp.Response plain = client.read();
            assertEquals(200, plain.status());
            assertNull(plain.header("access-control-allow-origin"), plain.headers().toString());
        }
        // A head the reader refuses (here two Content-Lengths; an upload over server.max_body_bytes
        // takes the same way) is answered past the CORS handler too: without the fields a browser
        // app saw a CORS failure, not the error.
        try (RawHttp client = new RawHttp(keyswap.port())) {
            client.send("POST /openai/v1/files HTTP/1.1\r\nHost: keyswap\r\nOrigin: https://app.example\r\nAuthorization: Bearer "
                    + token + "\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}");
            RawHttp.Response r = client.read();
            assertEquals(400, r.status());
            assertTrue(r.body().contains("\"code\":\"bad_framing\""), r.body());
            assertEquals("https://app.example", r.header("access-control-allow-origin"));
            assertTrue(r.header("vary").contains("Origin"));
            assertTrue(client.closedByServer(), "the refused body is never read: the connection closes");
        }
        try (RawHttp client = new RawHttp(keyswap.port())) {
            client.send("OPTIONS /openai/v1/chat/completions HTTP/1.1\r\nHost: keyswap\r\nOrigin: https://evil.example\r\n"
                    + "Access-Control-Request-Method: POST\r\n\r\n");
            RawHttp.Response r = client.read();
            assertEquals(403, r.status());
            assertNull(r.header("access-control-allow-origin"));
        }
    }

    @Test
    void rateLimitedKeyGets429WithRetryAfterAndRateLimitHeaders() throws Exception {
        String limited = keyswap.token(TestKeyswap.key("limited", Set.of(ApiKey.SCOPE_PROXY), Set.of(), null, 3));
        int before = upstream.getRequestCount();
        try (RawHttp client = new RawHttp(keyswap.port())) {
            for (int i = 0; i < 3; i++) {
                client.send("GET /openai/v1/models HTTP/1.1\r\nHost: k\r\nAuthorization: Bearer " + limited + "\r\n\r\n");
                RawHttp.Response r = client.read();
                assertEquals(200, r.status());
                assertEquals("3", r.header("ratelimit-limit"));
                assertEquals(Integer.toString(2 - i), r.header("ratelimit-remaining"));
            }
            client.send("GET /openai/v1/models HTTP/1.1\r\nHost: k\r\nAuthorization: Bearer " + limited + "\r\n\r\n");
            RawHttp.Response r = client.read();
            assertEquals(429, r.status());
            assertTrue(r.body().contains("\"code\":\"rate_limit_exceeded\""), r.body());
            assertNotNull(r.header("retry-after"));
            assertTrue(Integer.parseInt(r.header("retry-after")) >= 1);
        }
        assertEquals(before + 3, upstream.getRequestCount());
        RecordedRequest last = null;
        while (upstream.getRequestCount() > 0) {
            RecordedRequest r = upstream.takeRequest(10, TimeUnit.MILLISECONDS);
            if (r == null) {
                break;
            }
            last = r;
        }
        assertNotNull(last);
    }
}
