package dev.keyswap.bench.load;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keyswap.server.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Opens N concurrent SSE streams to {@code /v1/chat/completions} (through the target) and measures
 * each event's hold-back: its arrival time minus the {@code sent_us} the upstream stamped into it
 * when it wrote it. Both clocks are this machine's wall clock, so the figure is what the proxy (and
 * the scheduler) added. A stall is an event held back more than {@code stallMs}, or a stream that
 * did not deliver every event. Requests are staggered over one event interval so the events of
 * 1,000 streams are spread out rather than all due at the same instant.
 *
 * <p>Usage: {@code SseStreamClient URL TOKEN STREAMS EVENTS INTERVAL_MS} (TOKEN "-" for none); prints JSON.
 */
public final class SseStreamClient {
    private static final ObjectMapper JSON = new ObjectMapper();

    public record Options(LoadTarget target, int streams, int events, int intervalMs, long stallMs, long timeoutMs) {
    }

    private SseStreamClient() {
    }

    public static void main(String[] args) throws Exception {
        LoadTarget t = LoadTarget.parse("target", args[0], args[1].equals("-") ? null : args[1]);
        Map<String, Object> r = run(new Options(t, Integer.parseInt(args[2]), Integer.parseInt(args[3]),
                Integer.parseInt(args[4]), 50, 120_000), null);
        System.out.println(JSON.writeValueAsString(r));
    }

    /** @param during called on another thread every 200 ms while streams run (for RSS sampling); may be null */
    public static Map<String, Object> run(Options o, Runnable during) throws InterruptedException {
        Transport tr = Transport.named("epoll");
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, tr.ioHandlerFactory());
        List<Stream> streams = new ArrayList<>(o.streams());
        CountDownLatch done = new CountDownLatch(o.streams());
        AtomicInteger open = new AtomicInteger();
        AtomicInteger maxOpen = new AtomicInteger();
        String body = "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"bench_events\":" + o.events()
                + ",\"bench_interval_ms\":" + o.intervalMs() + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        byte[] bodyBytes = body.getBytes(StandardCharsets.US_ASCII);
        long t0 = System.nanoTime();
        try {
            Bootstrap b = new Bootstrap().group(group).channel(tr.socketChannel())
                    .option(ChannelOption.TCP_NODELAY, true)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000);
            Semaphore connecting = new Semaphore(256);
            for (int i = 0; i < o.streams(); i++) {
                Stream s = new Stream(o.events(), done, open, maxOpen);
                streams.add(s);
                connecting.acquire();
                ChannelFuture f = b.clone().handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpClientCodec(), s);
                    }
                }).connect(o.target().host(), o.target().port());
                long delayMs = o.intervalMs() == 0 ? 0 : (long) i * o.intervalMs() / o.streams();
                f.addListener(cf -> {
                    connecting.release();
                    if (!cf.isSuccess()) {
                        s.fail("connect: " + cf.cause());
                        return;
                    }
                    Channel ch = f.channel();
                    ch.eventLoop().schedule(() -> {
                        FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST,
                                o.target().path("/v1/chat/completions"), Unpooled.wrappedBuffer(bodyBytes));
                        req.headers().set(HttpHeaderNames.HOST, o.target().host() + ":" + o.target().port())
                                .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                                .set(HttpHeaderNames.ACCEPT, "text/event-stream")
                                .setInt(HttpHeaderNames.CONTENT_LENGTH, bodyBytes.length);
                        if (o.target().authorization() != null) {
                            req.headers().set(HttpHeaderNames.AUTHORIZATION, o.target().authorization());
                        }
                        ch.writeAndFlush(req);
                    }, delayMs, TimeUnit.MILLISECONDS);
                });
            }
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(o.timeoutMs());
            while (!done.await(200, TimeUnit.MILLISECONDS)) {
                if (during != null) {
                    during.run();
                }
                if (System.nanoTime() > deadline) {
                    break;
                }
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
        long elapsedNs = System.nanoTime() - t0;
        return summarize(o, streams, maxOpen.get(), elapsedNs);
    }

    private static Map<String, Object> summarize(Options o, List<Stream> streams, int maxOpen, long elapsedNs) {
        int total = 0;
        for (Stream s : streams) {
            total += s.holdBacksUs.size();
        }
        long[] all = new long[total];
        int k = 0;
        int completed = 0;
        int failed = 0;
        int incomplete = 0;
        long overStall = 0;
        List<String> errors = new ArrayList<>();
        for (Stream s : streams) {
            for (long v : s.holdBacksUs) {
                all[k++] = v;
                if (v > o.stallMs() * 1000) {
                    overStall++;
                }
            }
            if (s.error != null) {
                failed++;
                if (errors.size() < 5) {
                    errors.add(s.error);
                }
            } else if (s.finished && s.holdBacksUs.size() >= o.events()) {
                completed++;
            } else {
                incomplete++;
            }
        }
        java.util.Arrays.sort(all);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("streams", o.streams());
        r.put("events_per_stream", o.events());
        r.put("interval_ms", o.intervalMs());
        r.put("completed", completed);
        r.put("failed", failed);
        r.put("incomplete", incomplete);
        r.put("max_concurrent_open", maxOpen);
        r.put("events", total);
        r.put("events_expected", (long) o.streams() * (o.events() + 1));
        r.put("holdback_p50_us", Stats.percentile(all, 50));
        r.put("holdback_p99_us", Stats.percentile(all, 99));
        r.put("holdback_p999_us", Stats.percentile(all, 99.9));
        r.put("holdback_max_us", all.length == 0 ? -1 : all[all.length - 1]);
        r.put("events_over_" + o.stallMs() + "ms", overStall);
        r.put("stalls", overStall + incomplete + failed);
        r.put("elapsed_s", elapsedNs / 1e9);
        r.put("errors", errors);
        return r;
    }

    /** One stream: parses SSE events out of response chunks and records each one's hold-back. */
    private static final class Stream extends ChannelInboundHandlerAdapter {
        private final int events;
        private final CountDownLatch done;
        private final AtomicInteger open;
        private final AtomicInteger maxOpen;
        final List<Long> holdBacksUs;
        private final StringBuilder pending = new StringBuilder();
        volatile String error;
        volatile boolean finished;
        private boolean counted;
        private boolean opened;

        Stream(int events, CountDownLatch done, AtomicInteger open, AtomicInteger maxOpen) {
            this.events = events;
            this.done = done;
            this.open = open;
            this.maxOpen = maxOpen;
            this.holdBacksUs = new ArrayList<>(events + 2);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            long arrivedUs = BenchUpstream.epochMicros();
            try {
                if (msg instanceof HttpResponse res) {
                    if (res.status().code() != 200) {
                        fail("status " + res.status().code());
                        ctx.close();
                        return;
                    }
                    opened = true;
                    int n = open.incrementAndGet();
                    maxOpen.accumulateAndGet(n, Math::max);
                }
                if (msg instanceof HttpContent c) {
                    ByteBuf buf = c.content();
                    pending.append(buf.toString(StandardCharsets.US_ASCII));
                    int end;
                    while ((end = pending.indexOf("\n\n")) >= 0) {
                        String ev = pending.substring(0, end);
                        pending.delete(0, end + 2);
                        int at = ev.indexOf("\"sent_us\":");
                        if (at >= 0) {
                            int from = at + 10;
                            int to = from;
                            while (to < ev.length() && Character.isDigit(ev.charAt(to))) {
                                to++;
                            }
                            long sent = Long.parseLong(ev, from, to, 10);
                            holdBacksUs.add(Math.max(0, arrivedUs - sent));
                        }
                    }
                    if (c instanceof LastHttpContent) {
                        finished = true;
                        if (holdBacksUs.size() < events + 1) {
                            fail("stream ended after " + holdBacksUs.size() + " of " + (events + 1) + " events");
                        }
                        finish();
                        ctx.close();
                    }
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (!finished) {
                fail("connection closed after " + holdBacksUs.size() + " events");
            }
            finish();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            fail(cause.toString());
            ctx.close();
        }

        void fail(String why) {
            if (error == null) {
                error = why;
            }
            finish();
        }

        private void finish() {
            if (!counted) {
                counted = true;
                if (opened) {
                    open.decrementAndGet();
                }
                done.countDown();
            }
        }
    }
}
