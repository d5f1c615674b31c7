package dev.keyswap.bench.load;

import dev.keyswap.server.Transport;
import io.netty.bootstrap.ServerBootstrap;
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
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one fast upstream every load-harness target talks to (direct, nginx, Keyswap).
 *
 * <ul>
 *   <li>{@code POST /v1/chat/completions}: a fixed ~300-byte {@code chat.completion} with usage; when the
 *   body has {@code "stream":true} or the query {@code stream=1}, an SSE stream of {@code events} chunks
 *   (body {@code "bench_events":N} or query {@code events=N}, default 20) spaced {@code interval_ms} apart
 *   (default 0), then a usage chunk and {@code [DONE]}. Every chunk carries {@code "sent_us"}, the epoch
 *   microseconds when it was written, so a client can measure how long a proxy held it back.</li>
 *   <li>{@code POST /upload}: consumes and counts the body; answers {@code {"bytes":N}}.</li>
 *   <li>{@code GET /download?bytes=N}: streams N bytes, writing only while the channel is writable.</li>
 * </ul>
 * Checks nothing about credentials: the proxies' header swap is what is measured, not the upstream.
 * Usage: {@code BenchUpstream PORT [THREADS]}; prints "listening PORT" once bound.
 */
public final class BenchUpstream {
    private static final Pattern STREAM = Pattern.compile("\"stream\"\\s*:\\s*true");
    private static final Pattern EVENTS = Pattern.compile("\"bench_events\"\\s*:\\s*(\\d+)");
    private static final Pattern INTERVAL = Pattern.compile("\"bench_interval_ms\"\\s*:\\s*(\\d+)");
    /** The non-streamed chat answer (UsageExtractionBenchmark meters the same bytes). */
    public static final String CHAT_JSON = "{\"id\":\"chatcmpl-bench0001\",\"object\":\"chat.completion\",\"created\":1700000000,"
            + "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
            + "\"Hello from the bench upstream.\"},\"finish_reason\":\"stop\"}],"
            + "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":7,\"total_tokens\":19}}";
    private static final byte[] CHAT = CHAT_JSON.getBytes(StandardCharsets.US_ASCII);
    private static final ByteBuf CHAT_BUF = Unpooled.unreleasableBuffer(Unpooled.directBuffer(CHAT.length).writeBytes(CHAT));
    private static final int DOWNLOAD_CHUNK = 64 * 1024;
    private static final ByteBuf DOWNLOAD_BUF;

    static {
        ByteBuf b = Unpooled.directBuffer(DOWNLOAD_CHUNK);
        for (int i = 0; i < DOWNLOAD_CHUNK; i++) {
            b.writeByte('a' + (i % 26));
        }
        DOWNLOAD_BUF = Unpooled.unreleasableBuffer(b);
    }

    private BenchUpstream() {
    }

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        Transport t = Transport.named("epoll");
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(threads, t.ioHandlerFactory());
        Channel ch = new ServerBootstrap().group(group).channel(t.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 8192)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel c) {
                        c.pipeline().addLast(new HttpServerCodec(4096, 16384, 65536), new Handler());
                    }
                })
                .bind("127.0.0.1", port).sync().channel();
        System.out.println("listening " + port + " (" + t.name() + ", " + threads + " thread(s))");
        System.out.flush();
        ch.closeFuture().sync();
    }

    /** epoch microseconds; Instant.now() has microsecond resolution on Linux. */
    static long epochMicros() {
        java.time.Instant now = java.time.Instant.now();
        return now.getEpochSecond() * 1_000_000L + now.getNano() / 1000;
    }

    private enum Route { CHAT, UPLOAD, DOWNLOAD, NOT_FOUND }

    private static final class Handler extends ChannelInboundHandlerAdapter {
        private Route route;
        private boolean keepAlive;
        private QueryStringDecoder query;
        private final StringBuilder chatBody = new StringBuilder();
        private long uploaded;
        // download state
        private long downloadLeft;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof HttpRequest req) {
                keepAlive = HttpUtil.isKeepAlive(req);
                query = new QueryStringDecoder(req.uri());
                String path = query.path();
                route = switch (path) {
                    case "/v1/chat/completions" -> Route.CHAT;
                    case "/upload" -> Route.UPLOAD;
                    case "/download" -> Route.DOWNLOAD;
                    default -> Route.NOT_FOUND;
                };
                chatBody.setLength(0);
                uploaded = 0;
            }
            if (msg instanceof HttpContent content) {
                try {
                    if (route == Route.CHAT && chatBody.length() < 8192) {
                        chatBody.append(content.content().toString(StandardCharsets.UTF_8));
                    } else if (route == Route.UPLOAD) {
                        uploaded += content.content().readableBytes();
                    }
                } finally {
                    content.release();
                }
                if (content instanceof LastHttpContent) {
                    respond(ctx);
                }
            } else if (!(msg instanceof HttpRequest)) {
                io.netty.util.ReferenceCountUtil.release(msg);
            }
        }

        private void respond(ChannelHandlerContext ctx) {
            switch (route) {
                case CHAT -> chat(ctx);
                case UPLOAD -> full(ctx, HttpResponseStatus.OK, ("{\"bytes\":" + uploaded + "}").getBytes(StandardCharsets.US_ASCII));
                case DOWNLOAD -> download(ctx);
                default -> full(ctx, HttpResponseStatus.NOT_FOUND, "{\"error\":\"not found\"}".getBytes(StandardCharsets.US_ASCII));
            }
        }

        private void chat(ChannelHandlerContext ctx) {
            String body = chatBody.toString();
            boolean stream = STREAM.matcher(body).find() || "1".equals(param("stream")) || "true".equals(param("stream"));
            if (!stream) {
                FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, CHAT_BUF.duplicate());
                r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                        .setInt(HttpHeaderNames.CONTENT_LENGTH, CHAT.length);
                finish(ctx, r);
                return;
            }
            int events = intFrom(body, EVENTS, param("events"), 20);
            int intervalMs = intFrom(body, INTERVAL, param("interval_ms"), 0);
            HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            head.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream")
                    .set(HttpHeaderNames.CACHE_CONTROL, "no-cache")
                    .set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
            if (!keepAlive) {
                head.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            }
            ctx.write(head);
            if (intervalMs == 0) {
                for (int i = 0; i < events; i++) {
                    ctx.write(event(ctx, i));
                }
                endStream(ctx);
            } else {
                ctx.flush();
                scheduleEvent(ctx, 0, events, intervalMs);
            }
        }

        private void scheduleEvent(ChannelHandlerContext ctx, int i, int events, int intervalMs) {
            ctx.executor().schedule(() -> {
                if (!ctx.channel().isActive()) {
                    return;
                }
                if (i < events) {
                    ctx.writeAndFlush(event(ctx, i));
                    scheduleEvent(ctx, i + 1, events, intervalMs);
                } else {
                    endStream(ctx);
                }
            }, i == 0 ? 0 : intervalMs, TimeUnit.MILLISECONDS);
        }

        private static HttpContent event(ChannelHandlerContext ctx, int i) {
            String s = "data: {\"id\":\"chatcmpl-bench0001\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
                    + "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok" + i + " \"},"
                    + "\"finish_reason\":null}],\"seq\":" + i + ",\"sent_us\":" + epochMicros() + "}\n\n";
            return new DefaultHttpContent(ctx.alloc().buffer(s.length()).writeBytes(s.getBytes(StandardCharsets.US_ASCII)));
        }

        private void endStream(ChannelHandlerContext ctx) {
            String s = "data: {\"id\":\"chatcmpl-bench0001\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
                    + "\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":20,"
                    + "\"total_tokens\":32},\"sent_us\":" + epochMicros() + "}\n\ndata: [DONE]\n\n";
            ctx.write(new DefaultHttpContent(ctx.alloc().buffer(s.length()).writeBytes(s.getBytes(StandardCharsets.US_ASCII))));
            var f = ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
            if (!keepAlive) {
                f.addListener(io.netty.channel.ChannelFutureListener.CLOSE);
            }
        }

        private void download(ChannelHandlerContext ctx) {
            long n;
            try {
                n = Long.parseLong(param("bytes"));
            } catch (RuntimeException e) {
                full(ctx, HttpResponseStatus.BAD_REQUEST, "{\"error\":\"bytes=N required\"}".getBytes(StandardCharsets.US_ASCII));
                return;
            }
            HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            head.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_OCTET_STREAM)
                    .set(HttpHeaderNames.CONTENT_LENGTH, n);
            ctx.write(head);
            downloadLeft = n;
            pump(ctx);
        }

        /** Writes download chunks while the socket takes them; resumes on writability. */
        private void pump(ChannelHandlerContext ctx) {
            while (downloadLeft > 0 && ctx.channel().isWritable()) {
                int len = (int) Math.min(DOWNLOAD_CHUNK, downloadLeft);
                downloadLeft -= len;
                ctx.write(new DefaultHttpContent(DOWNLOAD_BUF.retainedSlice(0, len)));
                if (downloadLeft == 0) {
                    var f = ctx.write(LastHttpContent.EMPTY_LAST_CONTENT);
                    if (!keepAlive) {
                        f.addListener(io.netty.channel.ChannelFutureListener.CLOSE);
                    }
                }
            }
            ctx.flush();
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (ctx.channel().isWritable() && downloadLeft > 0) {
                pump(ctx);
            }
            ctx.fireChannelWritabilityChanged();
        }

        private void full(ChannelHandlerContext ctx, HttpResponseStatus status, byte[] body) {
            FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(body));
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                    .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
            finish(ctx, r);
        }

        private void finish(ChannelHandlerContext ctx, FullHttpResponse r) {
            if (!keepAlive) {
                r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
                ctx.writeAndFlush(r).addListener(io.netty.channel.ChannelFutureListener.CLOSE);
            } else {
                ctx.writeAndFlush(r);
            }
        }

        private String param(String name) {
            List<String> v = query.parameters().get(name);
            return v == null || v.isEmpty() ? null : v.get(0);
        }

        private static int intFrom(String body, Pattern p, String queryValue, int dflt) {
            Matcher m = p.matcher(body);
            if (m.find()) {
                return Integer.parseInt(m.group(1));
            }
            return queryValue != null ? Integer.parseInt(queryValue) : dflt;
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
