package dev.keyswap.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.epoll.Epoll;
import io.netty.channel.uring.IoUring;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import okhttp3.mockwebserver.MockResponse;
import okhttp3.mockwebserver.MockWebServer;
import okhttp3.mockwebserver.RecordedRequest;
import okhttp3.mockwebserver.SocketPolicy;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every {@code server.transport} a user can name carries the whole journey (key swap, a body up,
 * a streamed body down, keep-alive, a client leaving before the answer), or, where this machine
 * lacks it, refuses to start and says why. The rest of the suite runs on whatever {@code auto} picks here.
 */
class TransportTest {
    @TempDir
    Path dir;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "epoll", "nio"})
    void namedTransportProxiesOrRefusesToStart(String transport) throws Exception {
        boolean available = switch (transport) {
            case "io_uring" -> IoUring.isAvailable();
            case "epoll" -> Epoll.isAvailable();
            default -> true;
        };
        try (MockWebServer upstream = new MockWebServer()) {
            upstream.start();
            // One event loop, so one upstream pool: reuse does not depend on the client's connections.
            String yaml = "server:\n  transport: " + transport + "\n  io_threads: 1\n" + TestKeyswap.providers(
                    TestKeyswap.map("openai", "http://127.0.0.1:" + upstream.getPort()),
                    TestKeyswap.map("openai", "sk-test-transport-000000000"));
            if (!available) {
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> TestKeyswap.start(dir, yaml));
                assertTrue(e.getMessage().contains("server.transport is " + transport), e.getMessage());
                return;
            }
            try (TestKeyswap keyswap = TestKeyswap.start(dir, yaml)) {
                String token = keyswap.token();
                String body = "x".repeat(2 * 1024 * 1024);
                upstream.enqueue(new MockResponse().setBody("{\"ok\":true}").addHeader("Content-Type", "application/json"));
                HttpResponse<String> first = http.send(HttpRequest.newBuilder(URI.create(keyswap.baseUrl() + "/openai/v1/files"))
                        .header("Authorization", "Bearer " + token)
                        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(200, first.statusCode(), first.body());
                RecordedRequest up = upstream.takeRequest(5, TimeUnit.SECONDS);
                assertNotNull(up);
                assertEquals("Bearer sk-test-transport-000000000", up.getHeader("Authorization"));
                assertEquals(body.length(), up.getBodySize());

                String events = "data: {\"n\":1}\n\n".repeat(200) + "data: [DONE]\n\n";
                upstream.enqueue(new MockResponse().setChunkedBody(events, 97).addHeader("Content-Type", "text/event-stream"));
                HttpResponse<String> stream = http.send(HttpRequest.newBuilder(URI.create(keyswap.baseUrl() + "/openai/v1/chat/completions"))
                        .header("Authorization", "Bearer " + token)
                        .POST(HttpRequest.BodyPublishers.ofString("{\"stream\":true}")).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(200, stream.statusCode());
                assertEquals(events, stream.body());
                assertEquals(1, upstream.takeRequest(5, TimeUnit.SECONDS).getSequenceNumber(),
                        "the second request reuses the pooled upstream connection");

                // A client that leaves while the upstream is still thinking ends the exchange at
                // once on every transport, not when the upstream answers a minute later.
                upstream.enqueue(new MockResponse().setSocketPolicy(SocketPolicy.NO_RESPONSE));
                try (RawHttp client = new RawHttp(keyswap.port())) {
                    client.send("POST /openai/v1/chat/completions HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer " + token
                            + "\r\nContent-Length: 2\r\n\r\n{}");
                    assertNotNull(upstream.takeRequest(5, TimeUnit.SECONDS));
                }
                assertEquals(1, keyswap.awaitRelay(r -> r.clientAborts() > 0, 3).clientAborts(),
                        "the exchange ends as the client goes");
            }
        }
    }
}
