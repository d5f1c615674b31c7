package dev.keyswap.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keyswap.server.RawUpstream.Answer;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.WebSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM's drain (SPEC section 3: "finishes in-flight requests (bounded)"): what a slow client
 * is still being sent reaches it whole, a request still waiting on its token lookup is answered,
 * and a WebSocket session goes on until the drain timeout.
 */
class DrainTest {
    private static final int BODY_BYTES = 16 << 20;

    @TempDir
    Path dir;

    private TestKeyswap keyswap(String upstreamBaseUrl) {
        return TestKeyswap.start(dir, TestKeyswap.providers(TestKeyswap.map("openai", upstreamBaseUrl),
                TestKeyswap.map("openai", "sk-test-drain")) + "server:\n  drain_timeout: 10s\n");
    }

    @Test
    void aSlowClientGetsTheWholeResponseWhenTheDrainStartsAsTheUpstreamFinishes() throws Exception {
        String body = "x".repeat(BODY_BYTES);
        try (RawUpstream upstream = new RawUpstream(head -> Answer.keep(
                "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " + BODY_BYTES + "\r\n\r\n" + body));
             TestKeyswap keyswap = keyswap(upstream.baseUrl());
             Socket client = new Socket()) {
            client.setReceiveBufferSize(4096);
            client.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), keyswap.port()));
            client.setSoTimeout(30_000);
            client.getOutputStream().write(("GET /openai/v1/files/f/content HTTP/1.1\r\nHost: keyswap\r\nAuthorization: Bearer "
                    + keyswap.token() + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            InputStream in = client.getInputStream();
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            byte[] piece = new byte[64 << 10];
            CompletableFuture<Void> drain = null;
            int n;
            while ((n = in.read(piece)) >= 0) {
                got.write(piece, 0, n);
                // Slow: Keyswap reads the upstream only as fast as this client takes it, so its
                // exchange ends with the response's tail still queued for this client.
                Thread.sleep(1);
                if (drain == null && keyswap.keyswap.proxy().relayMetrics().active() == 0) {
                    drain = CompletableFuture.runAsync(keyswap.keyswap::drainAndClose);
                    // The kernel's buffers are full and the tail is queued in Keyswap: the drain
                    // gets there before this client reads on.
                    Thread.sleep(500);
                }
            }
            assertTrue(drain != null, "the drain started while the response was still being read");
            String all = got.toString(StandardCharsets.ISO_8859_1);
            int headEnd = all.indexOf("\r\n\r\n");
            assertTrue(all.startsWith("HTTP/1.1 200 "), all.substring(0, Math.min(200, all.length())));
            assertEquals(BODY_BYTES, all.length() - headEnd - 4, "the whole body, then the close");
            drain.get(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void aWebSocketSessionGoesOnUntilTheDrainTimeout() throws Exception {
        try (WebSocketUpstream upstream = new WebSocketUpstream(); TestKeyswap keyswap = keyswap(upstream.baseUrl())) {
            OkHttpClient client = new OkHttpClient();
            WebSocketTest.Events events = new WebSocketTest.Events();
            WebSocket ws = client.newWebSocket(new Request.Builder().url("ws://127.0.0.1:" + keyswap.port() + "/openai/v1/realtime")
                    .header("Authorization", "Bearer " + keyswap.token()).build(), events);
            events.opened.get(10, TimeUnit.SECONDS);
            long start = System.nanoTime();
            CompletableFuture<Void> drain = CompletableFuture.runAsync(keyswap.keyswap::drainAndClose);
            Thread.sleep(1000);
            ws.send("still here");
            assertEquals("still here", events.next(), "the session outlives the drain's start");
            ws.close(1000, "done");
            drain.get(30, TimeUnit.SECONDS);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(ms < 9_000, "the drain ended with the session, not at its timeout: " + ms + " ms");
            client.dispatcher().executorService().shutdown();
        }
    }
    @Test
    void aRequestWaitingOnItsTokenLookupIsAnsweredBeforeTheDrainCloses() throws Exception {
        String answer = "{\"id\":\"chatcmpl-drain\"}";
        try (RawUpstream upstream = new RawUpstream(head -> Answer.keep(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + answer.length() + "\r\n\r\n" + answer));
             TestKeyswap keyswap = keyswap(upstream.baseUrl());
             Socket client = new Socket()) {
            // Every JDBC thread busy: the token, never looked up yet, waits in the executor's queue.
            ThreadPoolExecutor jdbc = (ThreadPoolExecutor) keyswap.keyswap.database().executor();
            int threads = jdbc.getMaximumPoolSize();
            CountDownLatch busy = new CountDownLatch(threads);
            CountDownLatch release = new CountDownLatch(1);
            for (int i = 0; i < threads; i++) {
                jdbc.execute(() -> {
                    busy.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
            }
            CompletableFuture<Void> drain = null;
            try {
                assertTrue(busy.await(10, TimeUnit.SECONDS));
                client.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), keyswap.port()));
                client.setSoTimeout(30_000);
                client.getOutputStream().write(("POST /openai/v1/chat/completions HTTP/1.1\r\nHost: keyswap\r\nAuthorization: Bearer "
                        + keyswap.token() + "\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
                        .getBytes(StandardCharsets.US_ASCII));
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (keyswap.keyswap.proxy().relayMetrics().parked() == 0 && System.nanoTime() < until) {
                    Thread.sleep(5);
                }
                assertEquals(1, keyswap.keyswap.proxy().relayMetrics().parked(), "the request waits on its token lookup");
                assertEquals(0, keyswap.keyswap.proxy().relayMetrics().active(), "and is no exchange yet");

                drain = CompletableFuture.runAsync(keyswap.keyswap::drainAndClose);
                Thread.sleep(500);
                assertFalse(drain.isDone(), "the drain waits for the parked request");
            } finally {
                release.countDown();
            }
            String response = new String(client.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            assertTrue(response.startsWith("HTTP/1.1 200 "), response);
            assertTrue(response.endsWith(answer), response);
            drain.get(30, TimeUnit.SECONDS);
            assertEquals(0, keyswap.keyswap.proxy().relayMetrics().parked());
        }
    }
}
