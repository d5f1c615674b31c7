package dev.keyswap.bench.load;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keyswap.server.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Sends chat completions at a fixed rate over a pool of keep-alive connections and records each
 * request's latency from its <em>scheduled</em> send time, not from when a connection became free,
 * so a slow proxy cannot hide its queueing (coordinated omission). Requests due while every
 * connection is busy wait in a queue and their wait counts. One event loop does everything.
 *
 * <p>Usage: {@code PacedClient URL TOKEN RATE SECONDS [CONNECTIONS [WARMUP_SECONDS]]} (TOKEN "-" for
 * none; the unrecorded warm-up is 1 s unless given); prints JSON.
 */
public final class PacedClient {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final byte[] CHAT_BODY = ("{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":"
            + "\"Say hello to the benchmark.\"}],\"max_tokens\":16}").getBytes(StandardCharsets.US_ASCII);

    public record Options(LoadTarget target, int rate, double warmupSeconds, double seconds, int connections) {
    }

    public static void main(String[] args) throws Exception {
        LoadTarget t = LoadTarget.parse("target", args[0], args[1].equals("-") ? null : args[1]);
        Options o = new Options(t, Integer.parseInt(args[2]), args.length > 5 ? Double.parseDouble(args[5]) : 1,
                Double.parseDouble(args[3]), args.length > 4 ? Integer.parseInt(args[4]) : 64);
        System.out.println(JSON.writeValueAsString(run(o)));
    }

    public static Map<String, Object> run(Options o) throws Exception {
        Transport tr = Transport.named("epoll");
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, tr.ioHandlerFactory());
        try {
            EventLoop loop = group.next();
            Run run = new Run(o, loop);
            Bootstrap b = new Bootstrap().group(loop).channel(tr.socketChannel())
                    .option(ChannelOption.TCP_NODELAY, true)
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(1 << 20), run.new Conn());
                        }
                    });
            for (int i = 0; i < o.connections(); i++) {
                b.connect(o.target().host(), o.target().port()).sync();
            }
            loop.execute(run::start);
            return run.result.get((long) ((o.warmupSeconds() + o.seconds()) * 1000) + 30_000, TimeUnit.MILLISECONDS);
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
    }

    /** All state lives on the one event loop. */
    private static final class Run {
        final Options o;
        final EventLoop loop;
        final CompletableFuture<Map<String, Object>> result = new CompletableFuture<>();
        final ArrayDeque<Channel> idle = new ArrayDeque<>();
        final ArrayDeque<Long> due = new ArrayDeque<>();
        final long periodNs;
        final long total;
        final long warmupCount;
        long startNs;
        long next;
        long completed;
        long errors;
        long[] latencyUs;
        long[] serviceUs;
        int recorded;
        long maxQueued;

        Run(Options o, EventLoop loop) {
            this.o = o;
            this.loop = loop;
            this.periodNs = 1_000_000_000L / o.rate();
            this.warmupCount = (long) (o.warmupSeconds() * o.rate());
            this.total = warmupCount + (long) (o.seconds() * o.rate());
            this.latencyUs = new long[(int) (total - warmupCount)];
            this.serviceUs = new long[(int) (total - warmupCount)];
        }

        void start() {
            startNs = System.nanoTime() + 1_000_000;
            tick();
        }

        /** Enqueues every request whose time has come, dispatches, and sleeps until the next one. */
        void tick() {
            long now = System.nanoTime();
            while (next < total && startNs + next * periodNs <= now) {
                due.add(next++);
                maxQueued = Math.max(maxQueued, due.size());
            }
            dispatch();
            if (next < total) {
                long wait = startNs + next * periodNs - System.nanoTime();
                loop.schedule(this::tick, Math.max(0, wait), TimeUnit.NANOSECONDS);
            } else {
                loop.schedule(this::checkDone, 10, TimeUnit.MILLISECONDS);
            }
        }

        void dispatch() {
            while (!due.isEmpty() && !idle.isEmpty()) {
                Channel ch = idle.poll();
                long index = due.poll();
                Conn c = (Conn) ch.pipeline().last();
                c.index = index;
                c.sentNs = System.nanoTime();
                FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST,
                        o.target().path("/v1/chat/completions"), Unpooled.wrappedBuffer(CHAT_BODY));
                req.headers().set(HttpHeaderNames.HOST, o.target().host())
                        .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                        .setInt(HttpHeaderNames.CONTENT_LENGTH, CHAT_BODY.length);
                if (o.target().authorization() != null) {
                    req.headers().set(HttpHeaderNames.AUTHORIZATION, o.target().authorization());
                }
                ch.writeAndFlush(req);
            }
        }

        void completedOne(Conn c, boolean ok) {
            long now = System.nanoTime();
            completed++;
            if (!ok) {
                errors++;
            }
            if (c.index >= warmupCount) {
                long scheduled = startNs + c.index * periodNs;
                latencyUs[recorded] = (now - scheduled) / 1000;
                serviceUs[recorded] = (now - c.sentNs) / 1000;
                recorded++;
            }
            c.index = -1;
            dispatch();
        }

        void checkDone() {
            if (completed >= total || System.nanoTime() - (startNs + total * periodNs) > 10_000_000_000L) {
                finish();
            } else {
                loop.schedule(this::checkDone, 10, TimeUnit.MILLISECONDS);
            }
        }

        void finish() {
            long[] lat = Arrays.copyOf(latencyUs, recorded);
            long[] svc = Arrays.copyOf(serviceUs, recorded);
            Arrays.sort(lat);
            Arrays.sort(svc);
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("rate", o.rate());
            r.put("seconds", o.seconds());
            r.put("connections", o.connections());
            r.put("requests", recorded);
            r.put("completed_with_warmup", completed);
            r.put("errors", errors + (total - completed));
            r.put("achieved_rps", recorded / o.seconds());
            r.put("p50_us", Stats.percentile(lat, 50));
            r.put("p99_us", Stats.percentile(lat, 99));
            r.put("p999_us", Stats.percentile(lat, 99.9));
            r.put("max_us", lat.length == 0 ? -1 : lat[lat.length - 1]);
            r.put("service_p50_us", Stats.percentile(svc, 50));
            r.put("service_p99_us", Stats.percentile(svc, 99));
            r.put("max_queued", maxQueued);
            result.complete(r);
        }

        final class Conn extends SimpleChannelInboundHandler<FullHttpResponse> {
            long index = -1;
            long sentNs;

            @Override
            public void channelActive(ChannelHandlerContext ctx) {
                idle.add(ctx.channel());
            }

            @Override
            protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse res) {
                boolean ok = res.status().code() == 200;
                idle.add(ctx.channel());
                completedOne(this, ok);
            }

            @Override
            public void channelInactive(ChannelHandlerContext ctx) {
                idle.remove(ctx.channel());
                if (index >= 0) {
                    completedOne(this, false);
                }
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                ctx.close();
            }
        }
    }
}
