package dev.keyswap.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.WebSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A socket silent both ways for upstream.idle_timeout is closed at both ends. */
class WebSocketIdleTest {
    @TempDir
    Path dir;

    @Test
    void silentSocketIsClosedAfterTheIdleTimeout() throws Exception {
        try (WebSocketUpstream upstream = new WebSocketUpstream();
             TestKeyswap keyswap = TestKeyswap.start(dir, TestKeyswap.merge("upstream:\n  idle_timeout: 1s\n",
                     TestKeyswap.providers(TestKeyswap.map("openai", upstream.baseUrl()), TestKeyswap.map("openai", "sk-test-idle"))))) {
            OkHttpClient client = new OkHttpClient();
            WebSocketTest.Events events = new WebSocketTest.Events();
            WebSocket ws = client.newWebSocket(new Request.Builder().url("ws://127.0.0.1:" + keyswap.port() + "/openai/v1/realtime")
                    .header("Authorization", "Bearer " + keyswap.token()).build(), events);
            events.opened.get(10, TimeUnit.SECONDS);
            ws.send("still here");
            assertEquals("still here", events.next());
            long start = System.nanoTime();
            // No frame either way from now on: the splice must end it, and the client sees the close.
            events.failed.get(10, TimeUnit.SECONDS);
            long ms = (System.nanoTime() - start) / 1_000_000;
            assertTrue(ms >= 800 && ms < 8000, "closed after " + ms + " ms");
            assertEquals(0, keyswap.awaitRelay(r -> r.webSockets() == 0, 5).webSockets());
            client.dispatcher().executorService().shutdown();
        }
    }
}
