package dev.keyswap.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The upstream response reader against responses whole, cut at every byte, and malformed. */
class UpstreamResponseReaderTest {
    private static final int MAX_HEAD = 4096;

    private static Heard read(String response, boolean headRequest, int... cuts) {
        Heard heard = new Heard();
        read(heard, response, headRequest, cuts);
        return heard;
    }

    /** Feeds the response in pieces cut at {@code cuts}, each piece its own direct buffer, released after. */
    private static void read(Heard heard, String response, boolean headRequest, int... cuts) {
        UpstreamResponseReader reader = new UpstreamResponseReader(MAX_HEAD);
        reader.reset(headRequest);
        byte[] all = response.getBytes(StandardCharsets.ISO_8859_1);
        int from = 0;
        for (int i = 0; i <= cuts.length; i++) {
            int to = i < cuts.length ? cuts[i] : all.length;
            ByteBuf piece = Unpooled.directBuffer(to - from + 8);
            piece.writeBytes(new byte[3]).skipBytes(3); // a reader index that is not 0
            piece.writeBytes(all, from, to - from);
            try {
                reader.read(piece, heard);
            } finally {
                piece.release();
            }
            from = to;
        }
    }

    private static final String CHAT = "HTTP/1.1 200 OK\r\n"
            + "Content-Type: application/json\r\n"
            + "Content-Length: 13\r\n"
            + "X-Ratelimit-Remaining: 99\r\n"
            + "\r\n"
            + "{\"usage\":{}}\n";

    private static final String CHUNKED = "HTTP/1.1 200 OK\r\n"
            + "content-type: text/event-stream\r\n"
            + "Transfer-Encoding: chunked\r\n"
            + "Connection: keep-alive\r\n"
            + "\r\n"
            + "9;name=value\r\ndata: 1\n\n\r\n"
            + "A\r\ndata: 22\n\n\r\n"
            + "0\r\nX-Trailer: t\r\n\r\n";

    @Test
    void aContentLengthResponse() {
        Heard h = read(CHAT, false);
        assertEquals(List.of(200), h.statuses);
        assertEquals("application/json", h.contentType);
        assertEquals(13, h.contentLength);
        assertTrue(h.keepAlive);
        assertEquals(List.of("Content-Type: application/json", "Content-Length: 13", "X-Ratelimit-Remaining: 99"), h.keptFields);
        assertEquals("{\"usage\":{}}\n", h.data());
        assertEquals("{\"usage\":{}}\n", h.bytes());
        assertEquals(1, h.ends);
        assertFalse(h.moreBytes);
        assertNull(h.malformed);
    }

    @Test
    void aChunkedResponseIsFramedAndItsBytesKeptAsTheyCame() {
        Heard h = read(CHUNKED, false);
        assertTrue(h.chunked);
        assertEquals(List.of("content-type: text/event-stream"), h.keptFields, "framing and connection fields dropped");
        assertEquals("data: 1\n\ndata: 22\n\n", h.data());
        assertEquals(CHUNKED.substring(CHUNKED.indexOf("\r\n\r\n") + 4), h.bytes(), "extensions, sizes, trailers as sent");
        assertEquals(1, h.ends);
    }

    /** Every way of cutting a response in two or three pieces gives the same answer as reading it whole. */
    @ParameterizedTest
    @ValueSource(strings = {CHAT, CHUNKED,
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
            "HTTP/1.0 200 OK\nContent-Type: text/plain\n\nuntil the close"})
    void cutAnywhere(String response) {
        Heard whole = read(response, false);
        for (int i = 1; i < response.length(); i++) {
            Heard h = read(response, false, i);
            assertSame(whole, h, "cut at " + i);
            for (int j = i + 1; j < response.length(); j += 7) {
                assertSame(whole, read(response, false, i, j), "cut at " + i + " and " + j);
            }
        }
    }

    private static void assertSame(Heard expected, Heard actual, String where) {
        assertEquals(expected.statuses, actual.statuses, where);
        assertEquals(expected.keptFields, actual.keptFields, where);
        assertEquals(expected.data(), actual.data(), where);
        assertEquals(expected.bytes(), actual.bytes(), where);
        assertEquals(expected.ends, actual.ends, where);
        assertNull(actual.malformed, where);
    }

    @Test
    void informationalHeadsAreSkipped() {
        Heard h = read("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false);
        assertEquals(List.of(200), h.statuses);
        assertEquals(1, h.ends);
    }

    /**
     * An exchange that leaves a connection inside the head's report (a key pool's retry) may lease
     * another at once and reset the reader for it there: the reader must not undo that.
     */
    @Test
    void aReaderResetInsideTheHeadReportIsReadyForTheNextResponse() {
        UpstreamResponseReader reader = new UpstreamResponseReader(MAX_HEAD);
        reader.reset(false);
        Heard next = new Heard();
        UpstreamResponseReader.Listener retrying = new Heard() {
            @Override
            public boolean onResponseHead(ResponseHead head, ByteBuf in, int bodyIndex) {
                reader.reset(false);
                return false;
            }
        };
        ByteBuf refusal = Unpooled.copiedBuffer("HTTP/1.1 429 Too Many\r\nContent-Length: 2\r\n\r\n{}", StandardCharsets.ISO_8859_1);
        reader.read(refusal, retrying);
        refusal.release();
        ByteBuf answer = Unpooled.copiedBuffer(CHAT, StandardCharsets.ISO_8859_1);
        reader.read(answer, next);
        answer.release();
        assertEquals(List.of(200), next.statuses);
        assertEquals(1, next.ends);
    }

    @Test
    void aBodyUntilTheCloseEndsOnlyWhenClosed() {
        UpstreamResponseReader reader = new UpstreamResponseReader(MAX_HEAD);
        reader.reset(false);
        Heard h = new Heard();
        ByteBuf in = Unpooled.copiedBuffer("HTTP/1.0 200 OK\r\n\r\nsome", StandardCharsets.ISO_8859_1);
        reader.read(in, h);
        in.release();
        assertFalse(h.keepAlive, "HTTP/1.0 without keep-alive");
        assertEquals("some", h.data());
        assertEquals(0, h.ends);
        assertTrue(reader.endsAtClose());
        assertTrue(reader.closed());
        assertFalse(reader.closed(), "once");

        reader.reset(false);
        ByteBuf cl = Unpooled.copiedBuffer("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nsome", StandardCharsets.ISO_8859_1);
        reader.read(cl, new Heard());
        cl.release();
        assertFalse(reader.closed(), "a Content-Length body cut short is not ended by the close");
    }

    @Test
    void headRequestsAnd204And304HaveNoBody() {
        Heard head = read("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", true);
        assertEquals(1, head.ends);
        assertFalse(head.moreBytes);
        assertEquals(List.of("Content-Length: 5"), head.keptFields, "the length a GET would have had");
        Heard noContent = read("HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", false);
        assertEquals(1, noContent.ends);
        assertTrue(noContent.moreBytes, "bytes behind a complete response are reported");
        assertEquals("", noContent.data());
        Heard notModified = read("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", false);
        assertEquals(1, notModified.ends);
        assertEquals("", notModified.bytes());
    }

    @Test
    void bytesBehindAResponseAreReported() {
        Heard h = read(CHAT + "HTTP/1.1 200 OK\r\n", false);
        assertEquals(1, h.ends);
        assertTrue(h.moreBytes);
        assertEquals("{\"usage\":{}}\n", h.bytes(), "only the response's own bytes");
    }

    @Test
    void connectionOptionsAndTheFieldsTheyName() {
        Heard h = read("HTTP/1.1 200 OK\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\nX-Kept: 2\r\nKeep-Alive: timeout=5\r\n"
                + "Set-Cookie: a=b\r\nX-Request-Id: theirs\r\nUpgrade: h2c\r\nContent-Length: 0\r\n\r\n", false);
        assertFalse(h.keepAlive);
        assertEquals(List.of("X-Kept: 2", "Content-Length: 0"), h.keptFields);
        Heard ka = read("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", false);
        assertTrue(ka.keepAlive, "HTTP/1.0 with keep-alive");
    }

    @Test
    void aConnectionFieldCannotDropTheContentLengthTheResponseIsReadBy() {
        // Dropped, the client would get a head with no framing on a connection kept open.
        Heard h = read("HTTP/1.1 200 OK\r\nConnection: Content-Length, X-Hop\r\nX-Hop: 1\r\nContent-Length: 2\r\n\r\n{}", false);
        assertEquals(List.of("Content-Length: 2"), h.keptFields);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1234567890123456789\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: a\0b\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n",
        "HTTP/1.1 200 OK\r\n: no name\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX(A): 1\r\n\r\n",
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "HTTP/1.1 99 Low\r\n\r\n",
        "HTTP/1.1 600 High\r\n\r\n",
        "HTTP/1.1 20x OK\r\n\r\n",
        "HTTP/1.1 200 O\1K\r\n\r\n",
        "ICY 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\nab\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x\0\r\nab\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nBad Trailer: x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: x\n\r\n",
    })
    void malformedResponsesAreRefused(String response) {
        Heard h = read(response, false);
        assertNotNull(h.malformed, "refused: " + response.replace("\r\n", "|"));
        assertEquals(0, h.ends);
        // Cut anywhere, the answer is the same.
        for (int i = 1; i < response.length(); i++) {
            Heard cut = read(response, false, i);
            assertNotNull(cut.malformed, "cut at " + i);
            assertEquals(0, cut.ends);
        }
    }

    @Test
    void aHeadOverTheLimitIsRefusedWithoutWaitingForItsEnd() {
        String big = "HTTP/1.1 200 OK\r\nX-Big: " + "a".repeat(MAX_HEAD) + "\r\n\r\n";
        Heard whole = read(big, false);
        assertTrue(whole.malformed.contains("max_response_header_bytes"), whole.malformed);
        Heard pieces = read(big, false, 100, 2000, 4000);
        assertNotNull(pieces.malformed);
        // A head just under the limit is fine.
        String fits = "HTTP/1.1 200 OK\r\nX-Big: " + "a".repeat(MAX_HEAD - 50) + "\r\nContent-Length: 0\r\n\r\n";
        assertEquals(1, read(fits, false, 10).ends);
    }

    @Test
    void aChunkedTrailerSectionOverTheLimitIsRefused() {
        String r = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: " + "a".repeat(MAX_HEAD) + "\r\n\r\n";
        assertNotNull(read(r, false).malformed);
    }

    @Test
    void theClientsHeadKeepsTheUpstreamsFieldsAndAddsKeyswaps() {
        Heard h = new Heard();
        h.request = new InboundRequest(RequestHead.of("POST /openai/v1/x HTTP/1.1\r\nHost: a\r\n\r\n"), "req-1",
                System.nanoTime(), "127.0.0.1", true, true, "/openai/v1/x", null);
        h.request.responseHeaders.add(Map.entry(AsciiString.cached("ratelimit-remaining"), "7"));
        h.request.corsOrigin = "https://app.example";
        read(h, "HTTP/1.1 200\r\nRateLimit-Remaining: 1000\r\nX-Request-Id: theirs\r\nAccess-Control-Allow-Origin: *\r\n"
                + "Vary: Accept-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false);
        assertEquals("HTTP/1.1 200 \r\n"
                + "Vary: Accept-Encoding\r\n"
                + "transfer-encoding: chunked\r\n"
                + "x-request-id: req-1\r\n"
                + "x-proxy-duration-ms: 1.500\r\n"
                + "ratelimit-remaining: 7\r\n"
                + "access-control-allow-origin: https://app.example\r\n"
                + "vary: Origin\r\n"
                + "access-control-expose-headers: " + CorsHandler.EXPOSED + "\r\n"
                + "\r\n", h.clientHead);
    }
}
