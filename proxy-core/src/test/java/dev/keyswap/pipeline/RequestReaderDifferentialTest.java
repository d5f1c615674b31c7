package dev.keyswap.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The request reader against Netty's {@link HttpRequestDecoder} (which Keyswap used before) as an
 * oracle, on thousands of well-formed requests made at random (bodies by length or in chunks with
 * extensions and trailers, none; odd but legal spacing and case; several requests on one
 * connection), each fed in random pieces: both must find the same method, target, version and
 * fields, in order; Netty's decoded body must be the data sent, and the reader's pieces must be
 * the body's bytes exactly as sent. The reader is stricter than Netty on malformed requests by
 * design (RequestGuardTest), so only well-formed ones are compared.
 */
class RequestReaderDifferentialTest {
    private static final String[] METHODS = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "PROPFIND"};
    private static final String[] TARGETS = {"/openai/v1/chat/completions", "/anthropic/v1/messages?beta=true", "/",
        "/proxy/conn_1/v1/x?a=1&b=%20c", "/gemini/v1beta/models/gemini-pro:generateContent?alt=sse"};
    private static final String[] NAMES = {"Content-Type", "x-stainless-lang", "Accept", "User-Agent", "X-A", "authorization",
        "Cache-Control", "accept-encoding", "x-custom_header.v2", "Origin", "Cookie", "Expect2"};
    private static final String VALUE_BYTES = "abcXYZ0129 -_.:;,/=+*()\"'[]{}?!#$%&\t\351\377";

    /** What one side made of a request. */
    private record Seen(String method, String target, boolean http11, List<Map.Entry<String, String>> fields, String body) {
    }

    @Test
    void theReaderAgreesWithNettysDecoderOnWellFormedRequests() {
        SplittableRandom random = new SplittableRandom(20261123);
        for (int round = 0; round < 1_000; round++) {
            List<String> data = new ArrayList<>();
            List<String> sentBodies = new ArrayList<>();
            StringBuilder connection = new StringBuilder();
            int requests = random.nextInt(1, 4);
            for (int r = 0; r < requests; r++) {
                connection.append(request(random, data, sentBodies));
            }
            String where = "round " + round + ":\n" + connection.toString().replace("\r\n", "|\n");
            List<Seen> netty = netty(connection.toString());
            List<Seen> ours = ours(connection.toString(), random);
            assertEquals(requests, netty.size(), where);
            assertEquals(requests, ours.size(), where);
            for (int r = 0; r < requests; r++) {
                Seen n = netty.get(r);
                Seen o = ours.get(r);
                assertEquals(n.method(), o.method(), where);
                assertEquals(n.target(), o.target(), where);
                assertEquals(n.http11(), o.http11(), where);
                assertEquals(n.fields(), o.fields(), where);
                assertEquals(data.get(r), n.body(), where);
                assertEquals(sentBodies.get(r), o.body(), "the body's bytes pass as they came; " + where);
            }
        }
    }

    private static String request(SplittableRandom random, List<String> data, List<String> sentBodies) {
        StringBuilder sb = new StringBuilder();
        boolean http11 = random.nextInt(8) != 0;
        int framing = random.nextInt(http11 ? 3 : 2); // 0 none, 1 length, 2 chunked (HTTP/1.1 only)
        String method = METHODS[random.nextInt(METHODS.length)];
        String eol = "\r\n"; // a bare LF is refused by both (RequestReaderTest)
        sb.append(method).append(' ').append(TARGETS[random.nextInt(TARGETS.length)]).append(http11 ? " HTTP/1.1" : " HTTP/1.0")
                .append(eol);
        if (http11 || random.nextBoolean()) {
            sb.append(random.nextBoolean() ? "Host: " : "host:").append("127.0.0.1:8787").append(eol);
        }
        for (int i = random.nextInt(14); i > 0; i--) {
            sb.append(NAMES[random.nextInt(NAMES.length)]).append(':').append(" ".repeat(random.nextInt(3))).append(value(random))
                    .append(random.nextInt(4) == 0 ? " \t" : "").append(eol);
        }
        StringBuilder body = new StringBuilder();
        if (framing != 0) {
            for (int i = random.nextInt(300); i > 0; i--) {
                body.append((char) random.nextInt(0x20, 0x7f));
            }
        }
        String sent = "";
        switch (framing) {
            case 1 -> {
                sb.append(random.nextBoolean() ? "Content-Length: " : "content-length:").append(body.length()).append(eol).append(eol);
                sent = body.toString();
            }
            case 2 -> {
                sb.append("Transfer-Encoding: ").append(random.nextBoolean() ? "chunked" : "Chunked").append(eol).append(eol);
                sent = RandomChunks.of(body.toString(), random, 89, random.nextInt(4) == 0 ? "t" + random.nextInt(9) : null);
            }
            default -> sb.append(eol);
        }
        data.add(body.toString());
        sentBodies.add(sent);
        return sb.append(sent).toString();
    }

    private static String value(SplittableRandom random) {
        StringBuilder v = new StringBuilder();
        v.append((char) random.nextInt('a', 'z' + 1));
        for (int i = random.nextInt(30); i > 0; i--) {
            v.append(VALUE_BYTES.charAt(random.nextInt(VALUE_BYTES.length())));
        }
        v.append((char) random.nextInt('A', 'Z' + 1));
        return v.toString();
    }

    private static List<Seen> netty(String connection) {
        EmbeddedChannel ch = new EmbeddedChannel(new HttpRequestDecoder());
        ch.writeInbound(Unpooled.copiedBuffer(connection, StandardCharsets.ISO_8859_1));
        List<Seen> seen = new ArrayList<>();
        HttpRequest head = null;
        StringBuilder body = new StringBuilder();
        Object msg;
        while ((msg = ch.readInbound()) != null) {
            try {
                if (msg instanceof HttpRequest r) {
                    assertFalse(r.decoderResult().isFailure(), () -> r.decoderResult().cause().toString());
                    head = r;
                    body.setLength(0);
                }
                if (msg instanceof HttpContent c) {
                    body.append(c.content().toString(StandardCharsets.ISO_8859_1));
                }
                if (msg instanceof LastHttpContent) {
                    List<Map.Entry<String, String>> fields = new ArrayList<>();
                    head.headers().forEach(e -> fields.add(Map.entry(e.getKey(), e.getValue())));
                    seen.add(new Seen(head.method().name(), head.uri(), head.protocolVersion().minorVersion() == 1, fields,
                            body.toString()));
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }
        ch.finishAndReleaseAll();
        return seen;
    }

    /** The connection's bytes in random pieces through a reader, each message asked for as the relay would. */
    private static List<Seen> ours(String connection, SplittableRandom random) {
        EmbeddedChannel ch = new EmbeddedChannel(new HttpResponseEncoder(), new RequestReader(16384, 32768, 0));
        byte[] bytes = connection.getBytes(StandardCharsets.ISO_8859_1);
        List<Object> messages = new ArrayList<>();
        int at = 0;
        while (at < bytes.length) {
            int n = Math.min(bytes.length - at, random.nextInt(1, 200));
            ByteBuf piece = Unpooled.buffer(n).writeBytes(bytes, at, n);
            at += n;
            ch.writeInbound(piece);
            Object msg;
            while ((msg = ReaderChannels.next(ch)) != null) {
                messages.add(msg);
            }
        }
        assertTrue(ch.isOpen());
        assertNull(ch.readOutbound(), "nothing was answered");
        List<Seen> seen = new ArrayList<>();
        InboundRequest head = null;
        StringBuilder body = new StringBuilder();
        for (Object msg : messages) {
            if (msg instanceof InboundRequest r) {
                if (head != null && !head.hasBody) {
                    seen.add(seen(head, ""));
                }
                head = r;
                body.setLength(0);
            } else {
                RequestBody piece = (RequestBody) msg;
                body.append(piece.content().toString(StandardCharsets.ISO_8859_1));
                piece.release();
                if (piece.last) {
                    seen.add(seen(head, body.toString()));
                    head = null;
                }
            }
        }
        if (head != null && !head.hasBody) {
            seen.add(seen(head, ""));
        }
        ch.finishAndReleaseAll();
        return seen;
    }

    private static Seen seen(InboundRequest request, String body) {
        RequestHead h = request.head;
        List<Map.Entry<String, String>> fields = new ArrayList<>();
        for (int i = 0; i < h.fields; i++) {
            fields.add(Map.entry(h.name(i), h.value(i)));
        }
        return new Seen(h.method.name(), h.target, h.http11, fields, body);
    }
}
