package dev.keyswap.bench.load;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keyswap.server.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One large upload ({@code POST /upload}, Content-Length N, the body written 64 KiB at a time and
 * only while the socket is writable) or one large download ({@code GET /download?bytes=N}, bytes
 * counted and dropped as they arrive). Neither side ever holds the body, so any memory growth seen
 * while it runs belongs to the proxy in between.
 *
 * <p>Usage: {@code BulkTransferClient URL TOKEN upload|download BYTES} (TOKEN "-" for none); prints JSON.
 */
public final class BulkTransferClient {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CHUNK = 64 * 1024;

    public static void main(String[] args) throws Exception {
        LoadTarget t = LoadTarget.parse("target", args[0], args[1].equals("-") ? null : args[1]);
        System.out.println(JSON.writeValueAsString(run(t, args[2].equals("upload"), Long.parseLong(args[3]))));
    }

    public static Map<String, Object> run(LoadTarget target, boolean upload, long bytes) throws Exception {
        Transport tr = Transport.named("epoll");
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, tr.ioHandlerFactory());
        CompletableFuture<Map<String, Object>> result = new CompletableFuture<>();
        try {
            Transfer transfer = new Transfer(target, upload, bytes, result);
            Channel ch = new Bootstrap().group(group).channel(tr.socketChannel())
                    .option(ChannelOption.TCP_NODELAY, true)
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel c) {
                            c.pipeline().addLast(new HttpClientCodec(4096, 16384, CHUNK), transfer);
                        }
                    })
                    .connect(target.host(), target.port()).sync().channel();
            ch.eventLoop().execute(() -> transfer.begin(ch));
            return result.get(10, TimeUnit.MINUTES);
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
    }

    private static final class Transfer extends ChannelInboundHandlerAdapter {
        private static final ByteBuf FILL;

        static {
            ByteBuf b = Unpooled.directBuffer(CHUNK);
            for (int i = 0; i < CHUNK; i++) {
                b.writeByte('A' + (i % 26));
            }
            FILL = Unpooled.unreleasableBuffer(b);
        }

        private final LoadTarget target;
        private final boolean upload;
        private final long bytes;
        private final CompletableFuture<Map<String, Object>> result;
        private long left;
        private long received;
        private int status;
        private final StringBuilder responseBody = new StringBuilder();
        private long t0;

        Transfer(LoadTarget target, boolean upload, long bytes, CompletableFuture<Map<String, Object>> result) {
            this.target = target;
            this.upload = upload;
            this.bytes = bytes;
            this.result = result;
        }

        void begin(Channel ch) {
            t0 = System.nanoTime();
            HttpRequest req = new DefaultHttpRequest(HttpVersion.HTTP_1_1, upload ? HttpMethod.POST : HttpMethod.GET,
                    target.path(upload ? "/upload" : "/download?bytes=" + bytes));
            req.headers().set(HttpHeaderNames.HOST, target.host());
            if (target.authorization() != null) {
                req.headers().set(HttpHeaderNames.AUTHORIZATION, target.authorization());
            }
            if (upload) {
                req.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_OCTET_STREAM)
                        .set(HttpHeaderNames.CONTENT_LENGTH, bytes);
                left = bytes;
                ch.write(req);
                pump(ch);
            } else {
                req.headers().set(HttpHeaderNames.CONTENT_LENGTH, 0);
                ch.writeAndFlush(new io.netty.handler.codec.http.DefaultFullHttpRequest(HttpVersion.HTTP_1_1,
                        HttpMethod.GET, req.uri(), Unpooled.EMPTY_BUFFER, req.headers(),
                        io.netty.handler.codec.http.EmptyHttpHeaders.INSTANCE));
            }
        }

        private void pump(Channel ch) {
            while (left > 0 && ch.isWritable()) {
                int len = (int) Math.min(CHUNK, left);
                left -= len;
                ch.write(left == 0 ? new io.netty.handler.codec.http.DefaultLastHttpContent(FILL.retainedSlice(0, len))
                        : new DefaultHttpContent(FILL.retainedSlice(0, len)));
            }
            ch.flush();
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (upload && left > 0 && ctx.channel().isWritable()) {
                pump(ctx.channel());
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof HttpResponse r) {
                    status = r.status().code();
                }
                if (msg instanceof HttpContent c) {
                    received += c.content().readableBytes();
                    if (upload && responseBody.length() < 1024) {
                        responseBody.append(c.content().toString(StandardCharsets.UTF_8));
                    }
                    if (c instanceof LastHttpContent) {
                        done(null);
                        ctx.close();
                    }
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            done("connection closed");
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            done(cause.toString());
            ctx.close();
        }

        private void done(String error) {
            if (result.isDone()) {
                return;
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            long moved = upload ? bytes - left : received;
            boolean ok = error == null && status == 200
                    && (upload ? responseBody.toString().contains("\"bytes\":" + bytes) : received == bytes);
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("direction", upload ? "upload" : "download");
            r.put("bytes", bytes);
            r.put("moved", moved);
            r.put("status", status);
            r.put("ok", ok);
            r.put("seconds", secs);
            r.put("mib_per_s", moved / 1048576.0 / secs);
            if (upload) {
                r.put("upstream_said", responseBody.toString());
            }
            if (error != null) {
                r.put("error", error);
            }
            result.complete(r);
        }
    }
}
