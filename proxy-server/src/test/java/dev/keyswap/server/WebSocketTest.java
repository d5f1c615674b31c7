package dev.keyswap.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keyswap.usage.UsageRecord;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.WebSocket;
import okhttp3.WebSocketListener;
import okio.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** WebSocket upgrade passthrough: auth and key swap on the handshake, then a raw splice. */
class WebSocketTest {
    static final String OPENAI_KEY = "sk-test-realtime-key-000000000";
    static final String GEMINI_KEY = "test-gemini-live-key-11111111";
    @TempDir
    static Path dir;
    static WebSocketUpstream upstream;
    static TestKeyswap keyswap;
    static String token;
    static final OkHttpClient client = new OkHttpClient.Builder().readTimeout(30, TimeUnit.SECONDS).build();

    @BeforeAll
    static void start() throws Exception {
        upstream = new WebSocketUpstream();
        keyswap = TestKeyswap.start(dir, TestKeyswap.providers(
                TestKeyswap.map("openai", upstream.baseUrl(), "gemini", upstream.baseUrl()),
                TestKeyswap.map("openai", OPENAI_KEY, "gemini", GEMINI_KEY)));
        token = keyswap.token();
    }

    @BeforeEach
    void forgetEarlierSockets() {
        upstream.handshakes.clear();
        upstream.closesReceived.clear();
    }

    @AfterAll
    static void stop() {
        keyswap.close();
        upstream.close();
        client.dispatcher().executorService().shutdown();
        client.connectionPool().evictAll();
    }

    /** Collects what a client socket sees. */
    static class Events extends WebSocketListener {
        final BlockingQueue<Object> messages = new LinkedBlockingQueue<>();
        final CompletableFuture<Response> opened = new CompletableFuture<>();
        final CompletableFuture<String> closing = new CompletableFuture<>();
        final CompletableFuture<Response> failed = new CompletableFuture<>();

        @Override
        public void onOpen(WebSocket ws, Response response) {
            opened.complete(response);
        }

        @Override
        public void onMessage(WebSocket ws, String text) {
            messages.add(text);
        }

        @Override
        public void onMessage(WebSocket ws, ByteString bytes) {
            messages.add(bytes);
        }

        @Override
        public void onClosing(WebSocket ws, int code, String reason) {
            closing.complete(code + ":" + reason);
            ws.close(code, reason);
        }

        @Override
        public void onFailure(WebSocket ws, Throwable t, Response response) {
            failed.complete(response);
            opened.completeExceptionally(t);
        }

        Object next() throws InterruptedException {
            Object m = messages.poll(10, TimeUnit.SECONDS);
            assertNotNull(m, "no message within 10 s");
            return m;
        }
    }

    private static String wsUrl(String path) {
        return "ws://127.0.0.1:" + keyswap.port() + path;
    }

    private static WebSocketUpstream.Handshake lastHandshake() throws InterruptedException {
        WebSocketUpstream.Handshake h = upstream.handshakes.poll(5, TimeUnit.SECONDS);
        assertNotNull(h, "upstream saw no handshake");
        return h;
    }

    private static void assertNoToken(WebSocketUpstream.Handshake h) {
        assertFalse(h.uri().contains(token), "token in the upstream URI");
        h.headers().forEach(e -> assertFalse(e.getValue().contains(token), "token in upstream header " + e.getKey()));
        h.headers().forEach(e -> assertFalse(e.getValue().contains("openai-insecure-api-key"), "secret subprotocol upstream"));
    }

    @Test
    void bearerTokenOpensARealtimeSocketWithTheRealKeyUpstream() throws Exception {
        Events events = new Events();
        WebSocket ws = client.newWebSocket(new Request.Builder().url(wsUrl("/openai/v1/realtime?model=gpt-realtime"))
                .header("Authorization", "Bearer " + token).header("OpenAI-Beta", "realtime=v1").build(), events);
        Response opened = events.opened.get(10, TimeUnit.SECONDS);
        assertEquals(101, opened.code());
        assertTrue(opened.header("x-request-id").startsWith("req_"));
        WebSocketUpstream.Handshake h = lastHandshake();
        assertEquals("/v1/realtime?model=gpt-realtime", h.uri());
        assertEquals("Bearer " + OPENAI_KEY, h.headers().get("authorization"));
        assertEquals("realtime=v1", h.headers().get("openai-beta"));
        assertNoToken(h);
        // OkHttp offers permessage-deflate; compressed frames would hide Realtime usage from the tap.
        assertNull(h.headers().get("sec-websocket-extensions"), "no extension offered upstream");
        assertNull(opened.header("Sec-WebSocket-Extensions"), "so none is agreed with the client");
        ws.send("{\"type\":\"session.update\"}");
        assertEquals("{\"type\":\"session.update\"}", events.next());
        ws.close(1000, "bye");
        assertEquals("1000:bye", events.closing.get(10, TimeUnit.SECONDS));
    }

    @Test
    void browserSubprotocolTokenBecomesBearerAndIsNeverEchoed() throws Exception {
        Events events = new Events();
        client.newWebSocket(new Request.Builder().url(wsUrl("/openai/v1/realtime?model=gpt-realtime"))
                .header("Sec-WebSocket-Protocol", "realtime, openai-insecure-api-key." + token + ", openai-beta.realtime-v1")
                .build(), events);
        Response opened = events.opened.get(10, TimeUnit.SECONDS);
        assertEquals("realtime", opened.header("Sec-WebSocket-Protocol"), "the client gets a subprotocol it offered, never the secret one");
        WebSocketUpstream.Handshake h = lastHandshake();
        assertEquals("Bearer " + OPENAI_KEY, h.headers().get("authorization"));
        assertEquals("realtime, openai-beta.realtime-v1", h.headers().get("sec-websocket-protocol"));
        assertNoToken(h);
        events.opened.get().close();
    }

    @Test
    void geminiLiveQueryTokenBecomesTheRealKeyInTheQuery() throws Exception {
        Events events = new Events();
        WebSocket ws = client.newWebSocket(new Request.Builder()
                .url(wsUrl("/gemini/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key=" + token))
                .build(), events);
        events.opened.get(10, TimeUnit.SECONDS);
        WebSocketUpstream.Handshake h = lastHandshake();
        assertEquals("/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key=" + GEMINI_KEY, h.uri());
        assertNull(h.headers().get("x-goog-api-key"));
        assertNoToken(h);
        ws.close(1000, null);
    }

    @Test
    void largeTextBinaryAndFragmentedMessagesRoundTripIntact() throws Exception {
        Events events = new Events();
        WebSocket ws = client.newWebSocket(new Request.Builder().url(wsUrl("/openai/v1/realtime"))
                .header("Authorization", "Bearer " + token).build(), events);
        events.opened.get(10, TimeUnit.SECONDS);
        lastHandshake();
        String text = "x".repeat(1024 * 1024 - 7) + "\u00e9\u20ac!";
        ws.send(text);
        assertEquals(text, events.next());
        byte[] binary = new byte[1024 * 1024];
        new Random(42).nextBytes(binary);
        ws.send(ByteString.of(binary));
        assertArrayEquals(binary, ((ByteString) events.next()).toByteArray());
        ws.send("fragment");
        assertEquals("frag-one frag-two frag-three", events.next());
        ws.close(1000, null);
    }

    @Test
    void closeCodeAndReasonPassBothWays() throws Exception {
        Events fromUpstream = new Events();
        WebSocket a = client.newWebSocket(new Request.Builder().url(wsUrl("/openai/v1/realtime"))
                .header("Authorization", "Bearer " + token).build(), fromUpstream);
        fromUpstream.opened.get(10, TimeUnit.SECONDS);
        lastHandshake();
        a.send("close:4001:upstream says bye");
        assertEquals("4001:upstream says bye", fromUpstream.closing.get(10, TimeUnit.SECONDS));
        // The client's echo of that close reaches the upstream after the client saw it: waited
        // for here, so it cannot be taken for the second socket's close below.
        awaitUpstreamClose(new WebSocketUpstream.Close(4001, "upstream says bye"));

        Events fromClient = new Events();
        WebSocket b = client.newWebSocket(new Request.Builder().url(wsUrl("/openai/v1/realtime"))
                .header("Authorization", "Bearer " + token).build(), fromClient);
        fromClient.opened.get(10, TimeUnit.SECONDS);
        lastHandshake();
        b.close(4001, "client says bye");
        assertEquals("4001:client says bye", fromClient.closing.get(10, TimeUnit.SECONDS));
        awaitUpstreamClose(new WebSocketUpstream.Close(4001, "client says bye"));
    }

    /** Takes the upstream's received close frames, for up to 5 s, until {@code expected} is one. */
    private static void awaitUpstreamClose(WebSocketUpstream.Close expected) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        WebSocketUpstream.Close c;
        while ((c = upstream.closesReceived.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS)) != null) {
            if (c.equals(expected)) {
                return;
            }
        }
        throw new AssertionError("the upstream never received " + expected);
    }

    @Test
    void upstreamRefusalReachesTheClientAsItsHttpStatus() throws Exception {
        for (int status : new int[] {401, 429}) {
            Events events = new Events();
            client.newWebSocket(new Request.Builder().url(wsUrl("/openai/v1/realtime?refuse" + status))
                    .header("Authorization", "Bearer " + token).build(), events);
            Response refused = events.failed.get(10, TimeUnit.SECONDS);
            assertNotNull(refused);
            assertEquals(status, refused.code());
        }
    }

    @Test
    void unknownTokenNeverReachesTheUpstream() throws Exception {
        upstream.handshakes.clear();
        Events events = new Events();
        client.newWebSocket(new Request.Builder().url(wsUrl("/openai/v1/realtime"))
                .header("Sec-WebSocket-Protocol", "realtime, openai-insecure-api-key.ptk_notatoken").build(), events);
        Response refused = events.failed.get(10, TimeUnit.SECONDS);
        assertEquals(401, refused.code());
        Thread.sleep(100);
        assertTrue(upstream.handshakes.isEmpty());
    }

    @Test
    void slowReaderHoldsMemoryBoundedWhileTheUpstreamFloods() throws Exception {
        long total = 200L * 1024 * 1024;
        AtomicLong received = new AtomicLong();
        CompletableFuture<Void> done = new CompletableFuture<>();
        Events events = new Events() {
            @Override
            public void onMessage(WebSocket ws, ByteString bytes) {
                long n = received.addAndGet(bytes.size());
                if (n < 16L * 1024 * 1024) {
                    try {
                        Thread.sleep(2);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                if (n == total) {
                    done.complete(null);
                }
            }
        };
        try (MemoryProbe probe = new MemoryProbe()) {
            WebSocket ws = client.newWebSocket(new Request.Builder().url(wsUrl("/openai/v1/realtime"))
                    .header("Authorization", "Bearer " + token).build(), events);
            events.opened.get(10, TimeUnit.SECONDS);
            ws.send("flood:" + total);
            done.get(120, TimeUnit.SECONDS);
            assertEquals(total, received.get());
            assertTrue(probe.directGrowthMb() < 64 && probe.heapGrowthMb() < 64, probe.toString());
            ws.close(1000, null);
        }
    }

    @Test
    void closedSocketLeavesAUsageRecordWithBytesEachWayAndRealtimeTokens() throws Exception {
        Events events = new Events();
        WebSocket ws = client.newWebSocket(new Request.Builder().url(wsUrl("/openai/v1/realtime?model=gpt-4o-realtime-preview"))
                .header("Authorization", "Bearer " + token).build(), events);
        String requestId = events.opened.get(10, TimeUnit.SECONDS).header("x-request-id");
        ws.send("hello");
        assertEquals("hello", events.next());
        ws.send("response-done");
        events.next();
        ws.send("response-done");
        events.next();
        ws.close(1000, null);
        events.closing.get(10, TimeUnit.SECONDS);
        UsageRecord u = keyswap.awaitUsageRecord(requestId);
        assertEquals(101, u.status());
        assertTrue(u.bytesIn() > 5 && u.bytesOut() > 5, u.toString());
        assertTrue(u.durationMicros() > 0);
        assertEquals(60L, u.inputTokens(), "usage of both response.done events, summed");
        assertEquals(24L, u.outputTokens());
        // response.done names no model: the session is priced by the one its URL asked for.
        assertEquals("gpt-4o-realtime-preview", u.model());
        assertNotNull(u.costUsd(), "priced from the bundled table");
    }
}
