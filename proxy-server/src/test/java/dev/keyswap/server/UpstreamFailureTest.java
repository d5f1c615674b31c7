package dev.keyswap.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import io.netty.channel.ChannelHandler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Upstream failures become 502/504 in SPEC's shape; a vanished client closes the upstream side. */
class UpstreamFailureTest {
    @TempDir
    Path dir;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private TestKeyswap keyswap(String baseUrl) {
        return TestKeyswap.start(dir, TestKeyswap.providers(TestKeyswap.map("openai", baseUrl),
                TestKeyswap.map("openai", "sk-test-failures")) + """
                upstream:
                  connect_timeout: 1s
                  response_header_timeout: 500ms
                """);
    }

    private java.net.http.HttpResponse<String> call(TestKeyswap keyswap) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(keyswap.baseUrl() + "/openai/v1/chat/completions"))
                .header("Authorization", "Bearer " + keyswap.token())
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), BodyHandlers.ofString());
    }

    private static void assertError(java.net.http.HttpResponse<String> r, int status, String code) {
        assertEquals(status, r.statusCode(), r.body());
        assertTrue(r.body().startsWith("{\"error\":{\"type\":\"upstream_error\",\"code\":\"" + code + "\""), r.body());
        assertTrue(r.body().contains("\"request_id\":\"" + r.headers().firstValue("x-request-id").orElseThrow() + "\""));
    }

    private static NettyUpstream upstream(Supplier<ChannelHandler> handler) throws InterruptedException {
        return new NettyUpstream(handler);
    }

    @Test
    void refusedConnectionIs502() throws Exception {
        // A socket bound but never listening holds its port (so Keyswap's own ephemeral listener
        // cannot land on it, which once made this test call Keyswap itself) and refuses connects.
        try (Socket refusing = new Socket()) {
            refusing.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            TestKeyswap keyswap = keyswap("http://127.0.0.1:" + refusing.getLocalPort());
            try (keyswap) {
                assertError(call(keyswap), 502, "upstream_unreachable");
            }
        }
    }

    @Test
    void resetBeforeAnswerIs502() throws Exception {
        try (NettyUpstream upstream = upstream(() -> new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ReferenceCountUtil.release(msg);
                ctx.close();
            }
        }); TestKeyswap keyswap = keyswap(upstream.baseUrl())) {
            assertError(call(keyswap), 502, "upstream_reset");
        }
    }

    @Test
    void silentUpstreamIs504AfterTheResponseHeaderTimeout() throws Exception {
        try (NettyUpstream upstream = upstream(() -> new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ReferenceCountUtil.release(msg);
            }
        }); TestKeyswap keyswap = keyswap(upstream.baseUrl())) {
            long start = System.nanoTime();
            assertError(call(keyswap), 504, "upstream_timeout");
            long ms = (System.nanoTime() - start) / 1_000_000;
            assertTrue(ms >= 450 && ms < 5000, "answered after " + ms + " ms");
        }
    }

    @Test
    void anUploadLongerThanTheResponseHeaderTimeoutIsTimedFromItsEnd() throws Exception {
        // The timeout waits for an answer to a request sent whole; a 1.5 s upload under a 500 ms
        // timeout once got 504 a third of the way in, bytes flowing all the while.
        try (NettyUpstream upstream = answeringAtTheRequestsEnd(UpstreamFailureTest::writeOk);
             TestKeyswap keyswap = keyswap(upstream.baseUrl()); RawHttp client = new RawHttp(keyswap.port())) {
            client.send("POST /openai/v1/files HTTP/1.1\r\nHost: keyswap\r\nAuthorization: Bearer " + keyswap.token()
                    + "\r\nTransfer-Encoding: chunked\r\n\r\n");
            for (int i = 0; i < 6; i++) {
                client.send("5\r\nchunk\r\n");
                Thread.sleep(250);
            }
            client.send("0\r\n\r\n");
            RawHttp.Response r = client.read();
            assertEquals(200, r.status(), r.body());
            assertEquals("{}", r.body());
        }
    }

    @Test
    void malformedUpstreamResponseIs502() throws Exception {
        // Raw bytes around the codec: not HTTP at all.
        try (NettyUpstream upstream = answeringAtTheRequestsEnd(ctx -> ctx.pipeline().firstContext()
                .writeAndFlush(Unpooled.copiedBuffer("SMTP ready\r\n\r\n", StandardCharsets.US_ASCII)));
             TestKeyswap keyswap = keyswap(upstream.baseUrl())) {
            assertError(call(keyswap), 502, "upstream_bad_response");
        }
    }

    @Test
    void clientVanishingMidStreamClosesTheUpstreamConnection() throws Exception {
        CountDownLatch upstreamClosed = new CountDownLatch(1);
        try (NettyUpstream upstream = upstream(() -> new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                boolean last = msg instanceof LastHttpContent;
                ReferenceCountUtil.release(msg);
                if (last) {
                    HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
                    head.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream")
                            .set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
                    ctx.write(head);
                    ctx.writeAndFlush(StreamingTest.event("data: {\"n\":1}\n\n"));
                    // ... and never finishes.
                }
            }

            @Override
            public void channelInactive(ChannelHandlerContext ctx) {
                upstreamClosed.countDown();
            }
        }); TestKeyswap keyswap = keyswap(upstream.baseUrl())) {
            var response = http.send(HttpRequest.newBuilder(URI.create(keyswap.baseUrl() + "/openai/v1/chat/completions"))
                    .header("Authorization", "Bearer " + keyswap.token())
                    .POST(HttpRequest.BodyPublishers.ofString("{\"stream\":true}")).build(), BodyHandlers.ofInputStream());
            try (InputStream body = response.body()) {
                byte[] first = new byte[16];
                assertTrue(body.read(first) > 0);
            }
            // Closing the stream early makes the JDK client drop the connection.
            assertTrue(upstreamClosed.await(5, TimeUnit.SECONDS), "Keyswap must close the upstream when the client goes");
            var relay = keyswap.awaitRelay(r -> r.active() == 0, 5);
            assertEquals(0, relay.active());
            assertEquals(1, relay.clientAborts());
        }
    }

    @Test
    void clientGoneBeforeTheAnswerClosesTheUpstreamConnectionAtOnce() throws Exception {
        // A model that thinks for minutes before its first byte: a client that gives up meanwhile
        // must not leave Keyswap waiting on (and the provider billing for) an answer nobody reads.
        CountDownLatch requestSeen = new CountDownLatch(1);
        CountDownLatch upstreamClosed = new CountDownLatch(1);
        try (NettyUpstream upstream = upstream(() -> new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof LastHttpContent) {
                    requestSeen.countDown(); // and never answers
                }
                ReferenceCountUtil.release(msg);
            }

            @Override
            public void channelInactive(ChannelHandlerContext ctx) {
                upstreamClosed.countDown();
            }
        }); TestKeyswap keyswap = TestKeyswap.start(dir, TestKeyswap.providers(TestKeyswap.map("openai", upstream.baseUrl()),
                TestKeyswap.map("openai", "sk-test-failures")) + """
                upstream:
                  response_header_timeout: 60s
                """)) {
            try (RawHttp client = new RawHttp(keyswap.port())) {
                client.send("POST /openai/v1/chat/completions HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer " + keyswap.token()
                        + "\r\nContent-Length: 2\r\n\r\n{}");
                assertTrue(requestSeen.await(5, TimeUnit.SECONDS), "the request reaches the upstream");
            }
            long start = System.nanoTime();
            assertTrue(upstreamClosed.await(5, TimeUnit.SECONDS), "Keyswap must close the upstream when the client goes");
            long ms = (System.nanoTime() - start) / 1_000_000;
            assertTrue(ms < 2000, "closed after " + ms + " ms");
            var relay = keyswap.awaitRelay(r -> r.active() == 0, 5);
            assertEquals(0, relay.active());
            assertEquals(1, relay.clientAborts());
        }
    }

    /** An upstream that reads each request whole, then answers it with {@code answer}. */
    private static NettyUpstream answeringAtTheRequestsEnd(java.util.function.Consumer<ChannelHandlerContext> answer)
            throws InterruptedException {
        return upstream(() -> new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                boolean last = msg instanceof LastHttpContent;
                ReferenceCountUtil.release(msg);
                if (last) {
                    answer.accept(ctx);
                }
            }
        });
    }

    /** 200 with the body {@code {}}, keeping the connection. */
    private static void writeOk(ChannelHandlerContext ctx) {
        var r = new io.netty.handler.codec.http.DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                Unpooled.copiedBuffer("{}", StandardCharsets.US_ASCII));
        r.headers().set(HttpHeaderNames.CONTENT_LENGTH, 2);
        ctx.writeAndFlush(r);
    }

    /**
     * Serves one request per connection while claiming keep-alive; a second request on the same
     * connection is met with a close, as when an upstream's idle timeout races a send.
     */
    private NettyUpstream oneRequestPerConnection() throws Exception {
        return upstream(() -> new ChannelInboundHandlerAdapter() {
            private int served;

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                boolean head = msg instanceof io.netty.handler.codec.http.HttpRequest;
                boolean last = msg instanceof LastHttpContent;
                ReferenceCountUtil.release(msg);
                if (head && served > 0) {
                    ctx.close();
                    return;
                }
                if (last && ctx.channel().isActive()) {
                    served++;
                    writeOk(ctx);
                }
            }
        });
    }

    @Test
    void bodilessRequestIsRetriedWhenAPooledConnectionDiesUnderIt() throws Exception {
        try (NettyUpstream upstream = oneRequestPerConnection(); TestKeyswap keyswap = keyswap(upstream.baseUrl())) {
            String token = keyswap.token();
            for (int i = 0; i < 5; i++) {
                var r = http.send(HttpRequest.newBuilder(URI.create(keyswap.baseUrl() + "/openai/v1/models"))
                        .header("Authorization", "Bearer " + token).build(), BodyHandlers.ofString());
                assertEquals(200, r.statusCode(), "request " + i + ": " + r.body());
            }
            assertEquals(4, keyswap.keyswap.proxy().relayMetrics().retries());
            assertEquals(5, keyswap.keyswap.proxy().upstreamMetrics().connections());
        }
    }

    @Test
    void bodilessPostIsNotRetriedWhenAPooledConnectionDiesUnderIt() throws Exception {
        // The upstream may have acted on the POST before it closed (OpenAI's
        // POST /v1/batches/{id}/cancel has no body): sent again, it would be acted on twice.
        try (NettyUpstream upstream = oneRequestPerConnection(); TestKeyswap keyswap = keyswap(upstream.baseUrl())) {
            String token = keyswap.token();
            var first = http.send(HttpRequest.newBuilder(URI.create(keyswap.baseUrl() + "/openai/v1/models"))
                    .header("Authorization", "Bearer " + token).build(), BodyHandlers.ofString());
            assertEquals(200, first.statusCode(), first.body());
            var post = http.send(HttpRequest.newBuilder(URI.create(keyswap.baseUrl() + "/openai/v1/batches/b1/cancel"))
                    .header("Authorization", "Bearer " + token).POST(HttpRequest.BodyPublishers.noBody()).build(),
                    BodyHandlers.ofString());
            assertEquals(502, post.statusCode(), post.body());
            assertTrue(post.body().contains("\"code\":\"upstream_"), post.body());
            assertEquals(0, keyswap.keyswap.proxy().relayMetrics().retries());
            assertEquals(1, keyswap.keyswap.proxy().upstreamMetrics().connections(), "no second connection for the POST");
        }
    }
}
