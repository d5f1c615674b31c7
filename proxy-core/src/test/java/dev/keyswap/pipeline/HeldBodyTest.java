package dev.keyswap.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What the client's side of the pipeline receives for the body pieces of one upstream read. */
class HeldBodyTest {
    private final EmbeddedChannel channel = new EmbeddedChannel();
    private final List<ByteBuf> written = new ArrayList<>();
    private final List<ByteBuf> sent = new ArrayList<>();

    private HeldBody start(boolean chunked) {
        channel.pipeline().addLast("relay", new ChannelInboundHandlerAdapter());
        HeldBody body = new HeldBody(channel.pipeline().context("relay"));
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
    void aLargerPieceIsFramedAroundItNotCopied() {
        HeldBody body = start(true);
        String big = letters(HeldBody.FRAME_COPY_MAX_BYTES + 1, 'a');
        ByteBuf piece = track(piece(big));
        body.add(piece);
        body.write();
        assertEquals("1001\r\n" + big + "\r\n", drain());
        assertEquals(3, written.size(), "size line, the piece itself, CRLF");
        assertTrue(written.get(1) == piece, "the piece goes out as it came");
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
        body.end();
        assertEquals("0\r\n\r\n", drain(), "only end() writes the last chunk");
    }

    @Test
    void endWritesWhatIsHeldThenTheLastChunk() {
        HeldBody body = start(true);
        body.add(track(piece("data: x\n\n")));
        body.end();
        assertEquals("9\r\ndata: x\n\n\r\n0\r\n\r\n", drain());
    }

    @Test
    void aBodyThatIsNotChunkedGoesOutAsItCame() {
        HeldBody body = start(false);
        body.add(track(piece("abc")));
        body.add(track(piece("def")));
        body.end();
        assertEquals("abcdef", drain(), "no framing, and no last chunk");
    }

    /** A response head with {@code room} bytes to spare behind it, as ClientResponseHead makes one. */
    private static ByteBuf head(String text, int room) {
        ByteBuf b = Unpooled.directBuffer(text.length() + room, text.length() + room);
        b.writeCharSequence(text, StandardCharsets.US_ASCII);
        return b;
    }

    @Test
    void aSmallBodyLeavesWithTheHeadInOneBuffer() {
        HeldBody body = start(false);
        ByteBuf head = track(head("HTTP/1.1 200 OK\r\n\r\n", 16));
        body.head(head);
        body.add(track(piece("{\"a\":1}")));
        body.end();
        assertEquals("HTTP/1.1 200 OK\r\n\r\n{\"a\":1}", drain());
        assertEquals(1, written.size(), "head and body in one buffer");
        assertTrue(written.get(0) == head, "the head's own buffer, with the body copied in");
    }

    @Test
    void aChunkJoinsTheHeadFramed() {
        HeldBody body = start(true);
        body.head(track(head("HTTP/1.1 200 OK\r\n\r\n", 32)));
        body.add(track(piece("data: 1\n\n")));
        body.add(track(piece("data: 2\n\n")));
        body.write();
        assertEquals("HTTP/1.1 200 OK\r\n\r\n12\r\ndata: 1\n\ndata: 2\n\n\r\n", drain());
        assertEquals(1, written.size());
        body.add(track(piece("data: 3\n\n")));
        body.end();
        assertEquals("9\r\ndata: 3\n\n\r\n0\r\n\r\n", drain(), "later reads are chunks of their own");
    }

    @Test
    void aBodyPastTheHeadsRoomGoesAfterIt() {
        HeldBody body = start(true);
        ByteBuf head = track(head("HTTP/1.1 200 OK\r\n\r\n", 8));
        body.head(head);
        body.add(track(piece("data: 1\n\n"))); // 9 bytes, 13 with its size line and CRLF
        body.write();
        assertEquals("HTTP/1.1 200 OK\r\n\r\n9\r\ndata: 1\n\n\r\n", drain());
        assertEquals(2, written.size(), "the head, then the chunk");
        assertTrue(written.get(0) == head);
    }

    @Test
    void aHeadWithoutBodyGoesAlone() {
        HeldBody body = start(false);
        body.head(track(head("HTTP/1.1 204 No Content\r\n\r\n", 0)));
        body.end();
        assertEquals("HTTP/1.1 204 No Content\r\n\r\n", drain());
    }

    @Test
    void releaseDropsTheHeldHeadToo() {
        HeldBody body = start(false);
        body.head(track(head("HTTP/1.1 200 OK\r\n\r\n", 16)));
        body.add(track(piece("abc")));
        body.release();
        body.write();
        assertEquals("", drain());
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
