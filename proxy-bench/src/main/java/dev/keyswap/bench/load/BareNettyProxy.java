package dev.keyswap.bench.load;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.util.ReferenceCountUtil;
import java.util.function.Supplier;

/**
 * The floor of Keyswap's architecture, for proxy-bench only (never shipped): Netty's HTTP codecs
 * on both sides (as Keyswap uses them, io_uring, one event loop) and nothing else: one upstream
 * connection per client connection, the {@code Authorization} header swapped as nginx's reference
 * config does, no token check, routing, usage record, timeouts or backpressure. What it spends per
 * request is what any proxy built from {@code HttpServerCodec} and {@code HttpClientCodec}
 * spends before doing anything of its own, so Keyswap's CPU over it is Keyswap's own work.
 *
 * <pre>java -cp ... dev.keyswap.bench.load.BareNettyProxy LISTEN_PORT UPSTREAM_PORT</pre>
 */
public final class BareNettyProxy {
    private static final String UPSTREAM_AUTHORIZATION = "Bearer " + BenchConfigs.UPSTREAM_KEY;

    private BareNettyProxy() {
    }

    public static void main(String[] args) throws InterruptedException {
        int port = Integer.parseInt(args[0]);
        int upstreamPort = Integer.parseInt(args[1]);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, IoUringIoHandler.newFactory());
        serve(group, "bare Netty proxy", port, upstreamPort,
                () -> new ChannelHandler[] {new HttpServerCodec(), new ClientSide(upstreamPort)});
    }

    /**
     * Listens on {@code port} with io_uring, each accepted connection's pipeline made of {@code
     * perConnection}'s handlers, reading nothing until they turn auto-read on; returns when the
     * listener closes.
     */
    static void serve(EventLoopGroup group, String name, int port, int upstreamPort, Supplier<ChannelHandler[]> perConnection)
            throws InterruptedException {
        Channel server = new ServerBootstrap()
                .group(group)
                .channel(IoUringServerSocketChannel.class)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.AUTO_READ, false)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(perConnection.get());
                    }
                })
                .bind("127.0.0.1", port).sync().channel();
        System.out.println(name + " on 127.0.0.1:" + port + " -> 127.0.0.1:" + upstreamPort);
        server.closeFuture().sync();
    }

    /** Requests from the client go to this connection's own upstream connection. */
    private static final class ClientSide extends ChannelInboundHandlerAdapter {
        private final int upstreamPort;
        private Channel upstream;

        ClientSide(int upstreamPort) {
            this.upstreamPort = upstreamPort;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            Channel client = ctx.channel();
            connectBeside(client, upstreamPort, new ChannelInitializer<>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline().addLast(new HttpClientCodec(), new ForwardTo(client));
                        }
                    })
                    .addListener((ChannelFutureListener) f -> {
                        if (f.isSuccess()) {
                            upstream = f.channel();
                            client.config().setAutoRead(true);
                        } else {
                            client.close();
                        }
                    });
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof HttpRequest req) {
                req.headers().set(HttpHeaderNames.AUTHORIZATION, UPSTREAM_AUTHORIZATION);
            }
            upstream.write(msg, upstream.voidPromise());
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            upstream.flush();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (upstream != null) {
                upstream.close();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /**
     * Connects to the upstream on the client connection's own event loop, as Keyswap does; the
     * client connection reads nothing until the caller's listener turns its auto-read on.
     */
    static ChannelFuture connectBeside(Channel client, int upstreamPort, ChannelHandler handler) {
        return new Bootstrap()
                .group(client.eventLoop())
                .channel(IoUringSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .handler(handler)
                .connect("127.0.0.1", upstreamPort);
    }

    /** What one connection reads goes to the other as it arrives; when one closes, so does the other. */
    static final class ForwardTo extends ChannelInboundHandlerAdapter {
        private final Channel to;

        ForwardTo(Channel to) {
            this.to = to;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (to.isActive()) {
                to.write(msg, to.voidPromise());
            } else {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            to.flush();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            to.close();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
