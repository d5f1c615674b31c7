package dev.keyswap.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bodies stream both ways: events arrive as sent, huge bodies pass in bounded memory. */
class StreamingTest {
    static final long SIZE = Long.getLong("keyswap.test.streamBytes", 200L * 1024 * 1024);
    @TempDir
    Path dir;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private TestKeyswap keyswap(NettyUpstream upstream) {
        return TestKeyswap.start(dir, TestKeyswap.providers(TestKeyswap.map("openai", upstream.baseUrl()),
                TestKeyswap.map("openai", "sk-test-stream")));
    }

    /** The byte at offset i of every test body: cheap, position-dependent, checkable. */
    static byte patternAt(long i) {
        return (byte) ((i * 31 + (i >>> 16)) & 0xff);
    }

    static long expectedCrc(long size) {
        CRC32 crc = new CRC32();
        byte[] buf = new byte[65536];
        for (long off = 0; off < size; off += buf.length) {
            int n = (int) Math.min(buf.length, size - off);
            for (int j = 0; j < n; j++) {
                buf[j] = patternAt(off + j);
            }
            crc.update(buf, 0, n);
        }
        return crc.getValue();
    }

    @Test
    void sseEventsReachTheClientWhileTheUpstreamIsStillSending() throws Exception {
        CountDownLatch clientHasFirst = new CountDownLatch(1);
        AtomicBoolean lastSent = new AtomicBoolean();
        try (NettyUpstream upstream = new NettyUpstream(() -> new ChunkedResponder("text/event-stream") {
            @Override
            void respond(ChannelHandlerContext ctx) {
                ctx.writeAndFlush(event("data: {\"n\":1}\n\n"));
                waitThenFinish(ctx, 0);
            }

            void waitThenFinish(ChannelHandlerContext ctx, int waited) {
                if (clientHasFirst.getCount() > 0 && waited < 500) {
                    ctx.executor().schedule(() -> waitThenFinish(ctx, waited + 1), 10, TimeUnit.MILLISECONDS);
                    return;
                }
                for (int n = 2; n <= 5; n++) {
                    ctx.write(event("data: {\"n\":" + n + "}\n\n"));
                }
                ctx.write(event("data: [DONE]\n\n"));
                lastSent.set(true);
                ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
            }
        }); TestKeyswap keyswap = keyswap(upstream)) {
            var response = http.send(java.net.http.HttpRequest.newBuilder(URI.create(keyswap.baseUrl() + "/openai/v1/chat/completions"))
                    .header("Authorization", "Bearer " + keyswap.token())
                    .POST(BodyPublishers.ofString("{\"stream\":true}")).build(), BodyHandlers.ofInputStream());
            assertEquals(200, response.statusCode());
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
                assertEquals("data: {\"n\":1}", reader.readLine());
                assertFalse(lastSent.get(), "the first event must arrive before the upstream sends the last");
                clientHasFirst.countDown();
                StringBuilder rest = new StringBuilder();
                String line;
                while ((line = reader.readLine()) != null) {
                    if (!line.isEmpty()) {
                        rest.append(line).append('\n');
                    }
                }
                assertEquals("data: {\"n\":2}\ndata: {\"n\":3}\ndata: {\"n\":4}\ndata: {\"n\":5}\ndata: [DONE]\n", rest.toString());
            }
            assertTrue(lastSent.get());
        }
    }

    @Test
    void eventsThatArriveTogetherPassIntactInTheUpstreamsChunks() throws Exception {
        int events = 40;
        StringBuilder expected = new StringBuilder();
        for (int n = 1; n <= events; n++) {
            expected.append("data: {\"n\":").append(n).append("}\n\n");
        }
        try (NettyUpstream upstream = new NettyUpstream(() -> new ChunkedResponder("text/event-stream") {
            @Override
            void respond(ChannelHandlerContext ctx) {
                // One chunk per event, all in one flush: they reach Keyswap in one read or a few.
                for (int n = 1; n <= events; n++) {
                    ctx.write(event("data: {\"n\":" + n + "}\n\n"));
                }
                ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
            }
        }); TestKeyswap keyswap = keyswap(upstream); RawHttp client = new RawHttp(keyswap.port())) {
            for (int round = 0; round < 3; round++) { // and the connection stays usable
                client.send("POST /openai/v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + keyswap.token()
                        + "\r\nContent-Length: 2\r\n\r\n{}");
                RawHttp.Response r = client.read();
                assertEquals(200, r.status());
                assertEquals(expected.toString(), r.body());
                assertEquals(events, r.chunks(), "the upstream's chunks, as it framed them");
            }
        }
    }

    /** Piece sizes around every limit of the relay's chunk framing (hex digits, copy and coalescing limits). */
    static final int[] PIECE_SIZES = {1, 15, 16, 255, 256, 4095, 4096, 4097, 16383, 16384, 16385, 65536, 3, 100};

    @Test
    void chunksOfEverySizeArriveIntactWhetherTheyComeAloneOrTogether() throws Exception {
        ByteBuf expected = Unpooled.buffer();
        for (int size : PIECE_SIZES) {
            for (int i = 0; i < size; i++) {
                expected.writeByte(letterAt(expected.writerIndex()));
            }
        }
        String expectedBody = expected.toString(StandardCharsets.ISO_8859_1);
        expected.release();
        try (NettyUpstream upstream = new NettyUpstream(() -> new ChunkedResponder("application/octet-stream") {
            boolean alone = true;

            @Override
            void respond(ChannelHandlerContext ctx) {
                ctx.flush();
                // First response: each piece alone, 20 ms apart (a read each); second: all in one flush.
                send(ctx, 0, 0, alone);
                alone = !alone;
            }

            void send(ChannelHandlerContext ctx, int index, long offset, boolean apart) {
                if (index == PIECE_SIZES.length) {
                    ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
                    return;
                }
                int size = PIECE_SIZES[index];
                ByteBuf piece = ctx.alloc().buffer(size);
                for (int i = 0; i < size; i++) {
                    piece.writeByte(letterAt(offset + i));
                }
                if (apart) {
                    ctx.writeAndFlush(new DefaultHttpContent(piece));
                    ctx.executor().schedule(() -> send(ctx, index + 1, offset + size, true), 20, TimeUnit.MILLISECONDS);
                } else {
                    ctx.write(new DefaultHttpContent(piece));
                    send(ctx, index + 1, offset + size, false);
                }
            }
        }); TestKeyswap keyswap = keyswap(upstream); RawHttp client = new RawHttp(keyswap.port())) {
            for (String how : new String[] {"alone", "together"}) {
                client.send("GET /openai/v1/files/file-1/content HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                        + keyswap.token() + "\r\n\r\n");
                RawHttp.Response r = client.read();
                assertEquals(200, r.status(), how);
                assertEquals("chunked", r.header("transfer-encoding"), how);
                assertEquals(expectedBody.length(), r.body().length(), how);
                assertTrue(expectedBody.equals(r.body()), how + ": the body differs from what the upstream sent");
            }
        }
    }

    /** ASCII, so that RawHttp's text body compares byte for byte. */
    private static byte letterAt(long i) {
        return (byte) ('a' + (i * 7 + i / 26) % 26);
    }

    /**
     * An upstream that answers each request, once its body is in, with a chunked 200 of the given
     * content type; {@link #respond} writes the body after that head (not yet flushed).
     */
    abstract static class ChunkedResponder extends ChannelInboundHandlerAdapter {
        private final String contentType;

        ChunkedResponder(String contentType) {
            this.contentType = contentType;
        }

        abstract void respond(ChannelHandlerContext ctx);

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            boolean last = msg instanceof LastHttpContent;
            ReferenceCountUtil.release(msg);
            if (!last) {
                return;
            }
            HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            head.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType)
                    .set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
            ctx.write(head);
            respond(ctx);
        }
    }

    static HttpContent event(String text) {
        return new DefaultHttpContent(Unpooled.copiedBuffer(text, StandardCharsets.UTF_8));
    }

    @Test
    void hugeDownloadToAPausingClientPassesIntactInBoundedMemory() throws Exception {
        try (NettyUpstream upstream = new NettyUpstream(PatternSource::new); TestKeyswap keyswap = keyswap(upstream);
             MemoryProbe probe = new MemoryProbe()) {
            var response = http.send(java.net.http.HttpRequest.newBuilder(URI.create(keyswap.baseUrl() + "/openai/v1/files/f1/content"))
                    .header("Authorization", "Bearer " + keyswap.token()).build(), BodyHandlers.ofInputStream());
            assertEquals(200, response.statusCode());
            assertEquals(Long.toString(SIZE), response.headers().firstValue("content-length").orElseThrow());
            CRC32 crc = new CRC32();
            long total = 0;
            byte[] buf = new byte[65536];
            try (InputStream in = response.body()) {
                int n;
                boolean paused = false;
                while ((n = in.read(buf)) > 0) {
                    crc.update(buf, 0, n);
                    total += n;
                    if (!paused && total > 8 * 1024 * 1024) {
                        // A client that stops reading: an unbounded proxy would now take in the
                        // whole body from the fast upstream.
                        paused = true;
                        Thread.sleep(1500);
                    }
                }
            }
            assertEquals(SIZE, total);
            assertEquals(expectedCrc(SIZE), crc.getValue());
            assertTrue(probe.directGrowthMb() < 64 && probe.heapGrowthMb() < 64, probe.toString());
        }
    }

    @Test
    void hugeUploadToASlowUpstreamPassesIntactInBoundedMemory() throws Exception {
        try (NettyUpstream upstream = new NettyUpstream(CountingSink::new); TestKeyswap keyswap = keyswap(upstream);
             MemoryProbe probe = new MemoryProbe()) {
            var response = http.send(java.net.http.HttpRequest.newBuilder(URI.create(keyswap.baseUrl() + "/openai/v1/uploads"))
                    .header("Authorization", "Bearer " + keyswap.token())
                    .POST(BodyPublishers.ofInputStream(() -> new PatternStream(SIZE))).build(), BodyHandlers.ofString());
            assertEquals(200, response.statusCode(), response.body());
            assertEquals("{\"bytes\":" + SIZE + ",\"crc\":" + expectedCrc(SIZE) + "}", response.body());
            assertTrue(probe.directGrowthMb() < 64 && probe.heapGrowthMb() < 64, probe.toString());
        }
    }

    /** Generates the pattern without holding it. */
    static final class PatternStream extends InputStream {
        private final long size;
        private long pos;

        PatternStream(long size) {
            this.size = size;
        }

        @Override
        public int read() {
            return pos < size ? patternAt(pos++) & 0xff : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (pos >= size) {
                return -1;
            }
            int n = (int) Math.min(len, size - pos);
            for (int i = 0; i < n; i++) {
                b[off + i] = patternAt(pos + i);
            }
            pos += n;
            return n;
        }
    }

    /** Answers any request with SIZE pattern bytes, writing only while the channel is writable. */
    static final class PatternSource extends ChannelInboundHandlerAdapter {
        private long sent = -1;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            boolean last = msg instanceof LastHttpContent;
            ReferenceCountUtil.release(msg);
            if (last) {
                HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
                head.headers().set(HttpHeaderNames.CONTENT_LENGTH, SIZE)
                        .set(HttpHeaderNames.CONTENT_TYPE, "application/octet-stream");
                ctx.write(head);
                sent = 0;
                pump(ctx);
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            pump(ctx);
        }

        private void pump(ChannelHandlerContext ctx) {
            while (sent >= 0 && sent < SIZE && ctx.channel().isWritable()) {
                int n = (int) Math.min(65536, SIZE - sent);
                ByteBuf chunk = ctx.alloc().heapBuffer(n);
                for (int i = 0; i < n; i++) {
                    chunk.writeByte(patternAt(sent + i));
                }
                sent += n;
                if (sent == SIZE) {
                    ctx.writeAndFlush(new io.netty.handler.codec.http.DefaultLastHttpContent(chunk));
                } else {
                    ctx.writeAndFlush(new DefaultHttpContent(chunk));
                }
            }
        }
    }

    /** Reads a body slowly at first (a pause of 1.5 s), then counts and checksums it. */
    static final class CountingSink extends ChannelInboundHandlerAdapter {
        private final CRC32 crc = new CRC32();
        private long bytes;
        private boolean paused;

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            ctx.channel().config().setAutoRead(false);
            ctx.read();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof HttpRequest) {
                ReferenceCountUtil.release(msg);
            }
            if (msg instanceof HttpContent content) {
                ByteBuf b = content.content();
                bytes += b.readableBytes();
                crc.update(b.nioBuffer());
                boolean last = msg instanceof LastHttpContent;
                content.release();
                if (last) {
                    String body = "{\"bytes\":" + bytes + ",\"crc\":" + crc.getValue() + "}";
                    DefaultFullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                            Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
                    r.headers().set(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes());
                    ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
                }
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            if (!paused && bytes > 8 * 1024 * 1024) {
                paused = true;
                ctx.executor().schedule(() -> {
                    ctx.read();
                }, 1500, TimeUnit.MILLISECONDS);
            } else {
                ctx.read();
            }
        }
    }
}
