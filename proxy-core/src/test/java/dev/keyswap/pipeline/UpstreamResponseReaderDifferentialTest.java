package dev.keyswap.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The response reader against Netty's {@link HttpResponseDecoder} as an oracle, on thousands of
 * well-formed responses made at random (framing by length, chunks with extensions and trailers,
 * or the close; informational heads first; odd but legal spacing and case), each fed in random
 * pieces: both must find the same status, fields and body. The reader is stricter than Netty on
 * malformed responses by design, so only well-formed ones are compared.
 */
class UpstreamResponseReaderDifferentialTest {
    private static final String[] NAMES = {"Content-Type", "x-ratelimit-remaining-tokens", "Date", "Server", "X-A", "openai-version",
        "Cache-Control", "vary", "cf-ray", "Strict-Transport-Security", "x-custom_header.v2", "ETag"};
    private static final String VALUE_BYTES = "abcXYZ0129 -_.:;,/=+*()\"'[]{}?!#$%&\t\351\377";

    /** What one side made of a response. */
    private record Seen(int status, List<Map.Entry<String, String>> fields, String body, boolean ended) {
    }

    @Test
    void theReaderAgreesWithNettysDecoderOnWellFormedResponses() {
        SplittableRandom random = new SplittableRandom(20261123);
        for (int round = 0; round < 3_000; round++) {
            int framing = random.nextInt(3); // 0 length, 1 chunked, 2 until the close
            String response = response(random, framing);
            Seen netty = netty(response, framing == 2);
            Seen ours = ours(response, random, framing == 2);
            String where = "round " + round + ":\n" + response.replace("\r\n", "|\n");
            assertEquals(netty.status(), ours.status(), where);
            assertEquals(netty.fields(), ours.fields(), where);
            assertEquals(netty.body(), ours.body(), where);
            assertTrue(ours.ended(), where);
        }
    }

    private static String response(SplittableRandom random, int framing) {
        StringBuilder sb = new StringBuilder();
        for (int i = random.nextInt(3); i > 0; i--) {
            sb.append(random.nextBoolean() ? "HTTP/1.1 100 Continue\r\n\r\n" : "HTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\n");
        }
        int status = new int[] {200, 201, 202, 400, 401, 404, 429, 500, 503}[random.nextInt(9)];
        // HTTP/1.0 has no chunked coding (RFC 9112 section 6.1; both refuse it).
        sb.append(framing != 1 && random.nextInt(10) == 0 ? "HTTP/1.0 " : "HTTP/1.1 ").append(status);
        sb.append(random.nextInt(5) == 0 ? " " : " Some Reason").append("\r\n");
        StringBuilder body = new StringBuilder();
        for (int i = random.nextInt(400); i > 0; i--) {
            body.append((char) random.nextInt(0x20, 0x7f));
        }
        for (int i = random.nextInt(12); i > 0; i--) {
            String name = NAMES[random.nextInt(NAMES.length)];
            sb.append(name).append(':').append(" ".repeat(random.nextInt(3))).append(value(random))
                    .append(random.nextInt(4) == 0 ? " \t" : "").append("\r\n");
        }
        switch (framing) {
            case 0 -> sb.append(random.nextBoolean() ? "Content-Length: " : "content-length:").append(body.length()).append("\r\n\r\n")
                    .append(body);
            case 1 -> {
                sb.append("Transfer-Encoding: ").append(random.nextBoolean() ? "chunked" : "Chunked").append("\r\n\r\n");
                sb.append(RandomChunks.of(body.toString(), random, 119, random.nextInt(3) == 0 ? value(random) : null));
            }
            default -> sb.append("Connection: close\r\n\r\n").append(body);
        }
        return sb.toString();
    }

    private static String value(SplittableRandom random) {
        StringBuilder v = new StringBuilder();
        v.append((char) random.nextInt('a', 'z' + 1)); // never empty, never starting with a space
        for (int i = random.nextInt(60); i > 0; i--) {
            v.append(VALUE_BYTES.charAt(random.nextInt(VALUE_BYTES.length())));
        }
        return v.toString().strip() + (char) random.nextInt('a', 'z' + 1);
    }

    private static Seen netty(String response, boolean untilClose) {
        EmbeddedChannel ch = new EmbeddedChannel(new HttpResponseDecoder());
        ch.writeInbound(Unpooled.copiedBuffer(response, StandardCharsets.ISO_8859_1));
        if (untilClose) {
            ch.finish();
        }
        int status = 0;
        List<Map.Entry<String, String>> fields = new ArrayList<>();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        boolean ended = false;
        for (Object m; (m = ch.readInbound()) != null; ) {
            if (m instanceof HttpResponse r) {
                assertTrue(r.decoderResult().isSuccess(), r.decoderResult().toString());
                if (r.status().code() >= 200) {
                    status = r.status().code();
                    fields.clear();
                    for (Map.Entry<String, String> e : r.headers()) {
                        fields.add(Map.entry(e.getKey(), e.getValue()));
                    }
                }
            }
            if (m instanceof HttpContent c) {
                byte[] b = new byte[c.content().readableBytes()];
                c.content().getBytes(c.content().readerIndex(), b);
                body.writeBytes(b);
                ended |= c instanceof LastHttpContent && status >= 200;
            }
            io.netty.util.ReferenceCountUtil.release(m);
        }
        ch.finishAndReleaseAll();
        assertTrue(ended, "Netty read the whole response");
        return new Seen(status, fields, body.toString(StandardCharsets.ISO_8859_1), true);
    }

    private static Seen ours(String response, SplittableRandom random, boolean untilClose) {
        UpstreamResponseReader reader = new UpstreamResponseReader(65536);
        reader.reset(false);
        Heard heard = new Heard();
        byte[] all = response.getBytes(StandardCharsets.ISO_8859_1);
        int from = 0;
        while (from < all.length) {
            int n = Math.min(all.length - from, random.nextInt(1, 200));
            ByteBuf piece = Unpooled.directBuffer(n).writeBytes(all, from, n);
            try {
                reader.read(piece, heard);
            } finally {
                piece.release();
            }
            from += n;
        }
        assertNull(heard.malformed, "refused a well-formed response");
        boolean ended = untilClose ? reader.closed() : heard.ends == 1;
        return new Seen(heard.statuses.get(heard.statuses.size() - 1), heard.fields, heard.data(), ended);
    }
}
