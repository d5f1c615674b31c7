package dev.keyswap.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What the client's side of the pipeline receives for the body pieces of one upstream read. */
class HeldBodyTest {
    private final EmbeddedChannel channel = new EmbeddedChannel();
    private ChannelHandlerContext encoded;
    private final List<ByteBuf> written = new ArrayList<>();
    private final List<ByteBuf> sent = new ArrayList<>();

    private HeldBody start(boolean chunked) {
        channel.pipeline().addLast("codec", new HttpResponseEncoder());
        channel.pipeline().addLast("relay", new ChannelInboundHandlerAdapter());
        encoded = channel.pipeline().context("relay");
        HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        if (chunked) {
            head.headers().set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        } else {
            head.headers().set(HttpHeaderNames.CONTENT_LENGTH, 1_000_000);
        }
        encoded.writeAndFlush(head);
        drain(); // the head
        written.forEach(ByteBuf::release);
        written.clear();
        HeldBody body = new HeldBody(encoded, channel.pipeline().context("codec"));
        body.chunked(chunked);
        return body;
    }

    private static ByteBuf piece(String text) {
        ByteBuf b = Unpooled.directBuffer();
        b.writeCharSequence(text, StandardCharsets.US_ASCII);
        return b;
    }

    private static String letters(int n, char from) {
        StringBuilder sb = new StringBuilder(n);
        for (int i = 0; i < n; i++) {
            sb.append((char) (from + i % 26));
        }
        return sb.toString();
    }

    /** Flushes and takes every buffer the channel wrote, as text. */
    private String drain() {
        channel.flush();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Object m; (m = channel.readOutbound()) != null; ) {
            ByteBuf b = (ByteBuf) m;
            written.add(b);
            byte[] bytes = new byte[b.readableBytes()];
            b.getBytes(b.readerIndex(), bytes);
            out.writeBytes(bytes);
        }
        return out.toString(StandardCharsets.US_ASCII);
    }

    @AfterEach
    void release() {
        written.forEach(ByteBuf::release);
        sent.forEach(b -> assertEquals(0, b.refCnt(), "every piece given to it is released"));
        channel.finishAndReleaseAll();
    }

    private ByteBuf track(ByteBuf b) {
        sent.add(b);
        return b;
    }

    @Test
    void piecesOfOneReadLeaveAsOneChunkInOneBuffer() {
        HeldBody body = start(true);
        body.add(track(piece("data: 1\n\n")));
        body.add(track(piece("data: 2\n\n")));
        body.add(track(piece("data: 3\n\n")));
        body.write();
        assertEquals("1b\r\ndata: 1\n\ndata: 2\n\ndata: 3\n\n\r\n", drain());
        assertEquals(1, written.size());
    }

    @Test
    void aPieceThatCameAloneIsFramedInOneBuffer() {
        HeldBody body = start(true);
        body.add(track(piece("x")));
        body.write();
        assertEquals("1\r\nx\r\n", drain());
        String event = letters(HeldBody.FRAME_COPY_MAX_BYTES, 'a');
        body.add(track(piece(event)));
        body.write();
        assertEquals("1000\r\n" + event + "\r\n", drain());
        assertEquals(2, written.size());
    }

    @Test
    void aLargerPieceGoesThroughTheEncoderAsItIs() {
        HeldBody body = start(true);
        String big = letters(HeldBody.FRAME_COPY_MAX_BYTES + 1, 'a');
        body.add(track(piece(big)));
        body.write();
        assertEquals("1001\r\n" + big + "\r\n", drain());
        assertTrue(written.size() > 1, "the encoder's own framing: size line, data, CRLF");
    }

    @Test
    void copiedPiecesNeverMakeAChunkPastTheLimit() {
        HeldBody body = start(true);
        String a = letters(10_000, 'a');
        String b = letters(6_000, 'b');
        String c = letters(500, 'c');
        body.add(track(piece(a)));
        body.add(track(piece(b))); // 16,000: copied together
        body.add(track(piece(c))); // past 16 KiB: the first two leave, c is held
        String first = drain();
        assertEquals("3e80\r\n" + a + b + "\r\n", first);
        body.write();
        assertEquals("1f4\r\n" + c + "\r\n", drain());
    }

    @Test
    void anEmptyPieceNeverEndsTheBody() {
        HeldBody body = start(true);
        body.add(track(Unpooled.directBuffer(0)));
        body.write();
        assertEquals("", drain(), "no zero-size chunk, which would end the body");
        encoded.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
        assertEquals("0\r\n\r\n", drain());
    }

    @Test
    void aBodyThatIsNotChunkedGoesOutAsItCame() {
        HeldBody body = start(false);
        body.add(track(piece("abc")));
        body.add(track(piece("def")));
        body.write();
        assertEquals("abcdef", drain());
    }

    @Test
    void releaseDropsWhatIsHeld() {
        HeldBody body = start(true);
        body.add(track(piece("one")));
        body.add(track(piece("two")));
        body.release();
        body.write();
        assertEquals("", drain());
    }
}
