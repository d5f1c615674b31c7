package dev.keyswap.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The guard behind the request reader, fed raw bytes: what must be refused is, and the connection closes. */
class RequestGuardTest {

    /** The reader and the head steps (none of them), which answer a head the reader refuses. */
    static EmbeddedChannel channel(long maxBody) {
        return new EmbeddedChannel(new HttpResponseEncoder(), new RequestReader(16384, 32768, maxBody), new HeadSteps(new RelayMetrics()));
    }

    /** Writes raw request bytes; returns the status Keyswap answered, or 0 when the request passed. */
    private static int feed(EmbeddedChannel ch, String raw) {
        ch.writeInbound(Unpooled.copiedBuffer(raw, StandardCharsets.ISO_8859_1));
        Object passed = ch.readInbound();
        try {
            if (passed instanceof InboundRequest) {
                return 0;
            }
        } finally {
            ReferenceCountUtil.release(passed);
            Object more;
            while ((more = ReaderChannels.next(ch)) != null) {
                ReferenceCountUtil.release(more);
            }
        }
        String response = ReaderChannels.written(ch);
        int headEnd = response.indexOf("\r\n\r\n");
        assertTrue(headEnd > 0, response);
        String head = response.substring(0, headEnd).toLowerCase(java.util.Locale.ROOT);
        String body = response.substring(headEnd + 4);
        assertTrue(body.startsWith("{\"error\":{\"type\":"), body);
        assertTrue(head.contains("\r\nconnection: close"), head);
        assertTrue(head.contains("\r\ncontent-type: application/json"), head);
        return Integer.parseInt(response.substring(9, 12));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "content-length with chunked | POST /openai/v1/x HTTP/1.1\\r\\nHost: a\\r\\nContent-Length: 5\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n0\\r\\n\\r\\n | 400",
        "chunked, gzip | POST /openai/v1/x HTTP/1.1\\r\\nHost: a\\r\\nTransfer-Encoding: chunked, gzip\\r\\n\\r\\n | 400",
        "two transfer-encodings | POST /openai/v1/x HTTP/1.1\\r\\nHost: a\\r\\nTransfer-Encoding: chunked\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n | 400",
        "identity transfer-encoding | POST /openai/v1/x HTTP/1.1\\r\\nHost: a\\r\\nTransfer-Encoding: identity\\r\\n\\r\\n | 400",
        "two content-lengths | POST /openai/v1/x HTTP/1.1\\r\\nHost: a\\r\\nContent-Length: 1\\r\\nContent-Length: 1\\r\\n\\r\\nx | 400",
        "content-length not a number | POST /openai/v1/x HTTP/1.1\\r\\nHost: a\\r\\nContent-Length: 1x\\r\\n\\r\\nx | 400",
        "two hosts | GET /openai/v1/x HTTP/1.1\\r\\nHost: a\\r\\nHost: b\\r\\n\\r\\n | 400",
        "no host | GET /openai/v1/x HTTP/1.1\\r\\n\\r\\n | 400",
        "connect | CONNECT api.openai.com:443 HTTP/1.1\\r\\nHost: api.openai.com:443\\r\\n\\r\\n | 405",
        "trace | TRACE /openai/v1/x HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n | 405",
        "dot segment | GET /openai/../admin HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n | 400",
        "encoded dots | GET /openai/%2e%2e/admin HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n | 400",
        "encoded slash | GET /openai%2Fv1 HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n | 400",
        "absolute form to a foreign host | GET http://evil.example/openai/v1 HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n | 400",
        "http/2 preface | PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n | 400",
        "garbage | \\u0001\\u0002 nonsense\\r\\n\\r\\n | 400",
    })
    void refusesAndCloses(String name, String raw, int status) {
        EmbeddedChannel ch = channel(0);
        assertEquals(status, feed(ch, unescape(raw)), name);
        assertFalse(ch.isOpen(), "the connection must close after " + name);
        ch.finishAndReleaseAll();
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "GET /openai/v1/models HTTP/1.1\r\nHost: a\r\n\r\n",
        "POST /openai/v1/x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}",
        "POST /openai/v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        "GET http://a/openai/v1/models HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /openai/v1/models HTTP/1.0\r\n\r\n",
    })
    void passesWellFramedRequests(String raw) {
        EmbeddedChannel ch = channel(0);
        assertEquals(0, feed(ch, raw));
        assertTrue(ch.isOpen());
        ch.finishAndReleaseAll();
    }

    @ParameterizedTest
    @CsvSource({"10, 11, 413", "10, 10, 0"})
    void enforcesTheDeclaredBodyLimit(long limit, int length, int status) {
        EmbeddedChannel ch = channel(limit);
        assertEquals(status, feed(ch, "POST /openai/v1/x HTTP/1.1\r\nHost: a\r\nContent-Length: " + length + "\r\n\r\n" + "x".repeat(length)));
        ch.finishAndReleaseAll();
    }

    @org.junit.jupiter.api.Test
    void aChunkedBodyOutgrowingTheLimitStopsTheReadingAndIsToldOnForA413() {
        java.util.List<Object> events = new java.util.ArrayList<>();
        EmbeddedChannel ch = new EmbeddedChannel(new HttpResponseEncoder(), new RequestReader(16384, 32768, 8),
                new io.netty.channel.ChannelInboundHandlerAdapter() {
                    @Override
                    public void userEventTriggered(io.netty.channel.ChannelHandlerContext ctx, Object evt) {
                        events.add(evt);
                    }
                });
        ch.writeInbound(Unpooled.copiedBuffer("POST /openai/v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "5\r\n12345\r\n5\r\n67890\r\n0\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n", StandardCharsets.US_ASCII));
        java.util.List<Object> handedOn = new java.util.ArrayList<>();
        Object msg;
        while ((msg = ReaderChannels.next(ch)) != null) {
            handedOn.add(msg instanceof InboundRequest r ? r.head.target : "body");
            ReferenceCountUtil.release(msg);
        }
        // The head, then the limit instead of a body piece; nothing after it is read as HTTP.
        assertEquals(java.util.List.of("/openai/v1/x"), handedOn);
        assertEquals(1, events.size(), events.toString());
        ProxyError error = assertInstanceOf(RequestReader.BodyTooLarge.class, events.get(0)).error();
        assertEquals(413, error.status().code());
        assertEquals("body_too_large", error.code());
        assertEquals("", ReaderChannels.written(ch), "the reader answers nothing itself: the exchange does");
        ch.finishAndReleaseAll();
    }

    @org.junit.jupiter.api.Test
    void absoluteFormForOurOwnHostBecomesOriginForm() {
        EmbeddedChannel ch = channel(0);
        ch.writeInbound(Unpooled.copiedBuffer("GET http://keyswap.local:8787/openai/v1/models?x=1 HTTP/1.1\r\nHost: keyswap.local:8787\r\n\r\n", StandardCharsets.US_ASCII));
        InboundRequest r = assertInstanceOf(InboundRequest.class, ch.readInbound());
        assertEquals("/openai/v1/models", r.path());
        assertEquals("x=1", r.rawQuery);
        assertNull(ch.readOutbound());
        ch.finishAndReleaseAll();
    }

    @org.junit.jupiter.api.Test
    void bodyContentSkipsTheHeadOnlyStepsAndStillCountsTowardTheLimit() {
        java.util.List<Object> headSteps = new java.util.ArrayList<>();
        io.netty.channel.ChannelInboundHandlerAdapter headOnly = new io.netty.channel.ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(io.netty.channel.ChannelHandlerContext ctx, Object msg) {
                headSteps.add(msg.getClass().getSimpleName());
                ctx.fireChannelRead(msg);
            }
        };
        RequestReader reader = new RequestReader(16384, 32768, 16);
        EmbeddedChannel ch = new EmbeddedChannel(new HttpResponseEncoder(), reader, headOnly);
        reader.sendBodyPast(ch.pipeline().context(headOnly));

        ch.writeInbound(Unpooled.copiedBuffer("POST /openai/v1/x HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789",
                StandardCharsets.US_ASCII));
        assertInstanceOf(InboundRequest.class, ReaderChannels.next(ch));
        RequestBody body = assertInstanceOf(RequestBody.class, ReaderChannels.next(ch));
        assertEquals("0123456789", body.content().toString(StandardCharsets.US_ASCII));
        assertTrue(body.last);
        body.release();
        assertEquals(java.util.List.of("InboundRequest"), headSteps, "the step between reader and exit saw only the head");

        // The reader still counts what it lets past: 10 + 10 bytes outgrow 16 and stop the reading.
        ch.writeInbound(Unpooled.copiedBuffer("POST /openai/v1/x HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789",
                StandardCharsets.US_ASCII));
        assertInstanceOf(InboundRequest.class, ReaderChannels.next(ch));
        ReferenceCountUtil.release(ReaderChannels.next(ch));
        assertTrue(ch.isOpen(), "each request's body is counted on its own");
        ch.writeInbound(Unpooled.copiedBuffer("POST /openai/v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "a\r\n0123456789\r\n", StandardCharsets.US_ASCII));
        assertInstanceOf(InboundRequest.class, ReaderChannels.next(ch));
        RequestBody first = assertInstanceOf(RequestBody.class, ReaderChannels.next(ch));
        assertEquals(10, first.dataBytes);
        assertFalse(first.last);
        first.release();
        ch.writeInbound(Unpooled.copiedBuffer("a\r\n0123456789\r\n0\r\n\r\n", StandardCharsets.US_ASCII));
        assertNull(ReaderChannels.next(ch), "the chunk past the limit went nowhere");
        ch.writeInbound(Unpooled.copiedBuffer("GET /openai/v1/models HTTP/1.1\r\nHost: a\r\n\r\n", StandardCharsets.US_ASCII));
        assertNull(ReaderChannels.next(ch), "nothing after it is read as a request");
        ch.finishAndReleaseAll();
    }

    private static String unescape(String s) {
        return s.trim().replace("\\r", "\r").replace("\\n", "\n").replace("\\u0001", "\u0001").replace("\\u0002", "\u0002");
    }
}
