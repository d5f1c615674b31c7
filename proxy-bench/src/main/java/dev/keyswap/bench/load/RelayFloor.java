package dev.keyswap.bench.load;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.IoEvent;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.uring.IoUringIoEvent;
import io.netty.channel.uring.IoUringIoHandle;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringIoOps;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.util.internal.PlatformDependent;
import java.io.IOException;
import java.lang.reflect.Method;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

/**
 * How much of a proxy's CPU per request is its transport's, for proxy-bench only (never shipped):
 * the same byte relay (each client connection with its own upstream connection, every byte passed
 * on as it came, no HTTP) built two ways on one io_uring event loop.
 *
 * <ul>
 *   <li>{@code channel}: Netty's channels, as Keyswap and {@link BareNettyProxy} use them: a read
 *   is a pipeline event with a pooled buffer, a write goes through the channel's outbound buffer.
 *   Netty 4.2 polls a socket before it receives from it.
 *   <li>{@code ring}: Netty's public io_uring handle API ({@link IoUringIoHandle}, {@link
 *   IoUringIoOps}): a receive is submitted straight away and completes when bytes arrive, into one
 *   fixed buffer per direction, and its completion submits the send.
 * </ul>
 *
 * <p>The difference between the two at one load is what a transport of Keyswap's own could save
 * per request, at most: everything above the transport is the same in both (nothing).
 *
 * <pre>java --add-opens java.base/sun.nio.ch=ALL-UNNAMED -cp ... dev.keyswap.bench.load.RelayFloor channel|ring LISTEN_PORT UPSTREAM_PORT</pre>
 */
public final class RelayFloor {
    private static final int BUFFER_BYTES = 16 * 1024;

    private RelayFloor() {
    }

    public static void main(String[] args) throws Exception {
        String mode = args[0];
        int port = Integer.parseInt(args[1]);
        int upstreamPort = Integer.parseInt(args[2]);
        MultiThreadIoEventLoopGroup group = new MultiThreadIoEventLoopGroup(1, IoUringIoHandler.newFactory());
        if (mode.equals("channel")) {
            channelRelay(group, port, upstreamPort);
        } else if (mode.equals("ring")) {
            ringRelay((IoEventLoop) group.next(), port, upstreamPort);
        } else {
            throw new IllegalArgumentException("mode: channel or ring");
        }
    }

    // ---- channel: Netty's channels

    private static void channelRelay(MultiThreadIoEventLoopGroup group, int port, int upstreamPort) throws InterruptedException {
        Channel server = new ServerBootstrap()
                .group(group)
                .channel(IoUringServerSocketChannel.class)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.AUTO_READ, false)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new ClientSide(upstreamPort));
                    }
                })
                .bind("127.0.0.1", port).sync().channel();
        System.out.println("channel relay on 127.0.0.1:" + port + " -> 127.0.0.1:" + upstreamPort);
        server.closeFuture().sync();
    }

    /** Bytes from one side written to the other, as they come. */
    private static final class Forward extends ChannelInboundHandlerAdapter {
        private final Channel to;

        Forward(Channel to) {
            this.to = to;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            to.write(msg, to.voidPromise());
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

    private static final class ClientSide extends ChannelInboundHandlerAdapter {
        private final int upstreamPort;

        ClientSide(int upstreamPort) {
            this.upstreamPort = upstreamPort;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            Channel client = ctx.channel();
            new Bootstrap().group(client.eventLoop()).channel(IoUringSocketChannel.class)
                    .option(ChannelOption.TCP_NODELAY, true)
                    .handler(new Forward(client))
                    .connect("127.0.0.1", upstreamPort)
                    .addListener((ChannelFutureListener) f -> {
                        if (!f.isSuccess()) {
                            client.close();
                            return;
                        }
                        ctx.pipeline().replace(this, "forward", new Forward(f.channel()));
                        client.config().setAutoRead(true);
                    });
        }
    }

    // ---- ring: Netty's io_uring handle API

    private static final byte OP_SEND = 26;
    private static final byte OP_RECV = 27;
    /** What an operation was for, in its completion's data. */
    private static final short CLIENT_RECV = 1;
    private static final short UPSTREAM_SEND = 2;
    private static final short UPSTREAM_RECV = 3;
    private static final short CLIENT_SEND = 4;

    /**
     * Connections are accepted and connected with blocking java.nio calls on a thread of their own
     * (rare: not what is measured) and then handed to the loop by their file descriptors; a
     * blocking socket lets io_uring wait for bytes inside the receive itself.
     */
    private static void ringRelay(IoEventLoop loop, int port, int upstreamPort) throws Exception {
        Method fdVal = Class.forName("sun.nio.ch.SelChImpl").getMethod("getFDVal");
        ServerSocketChannel listener = ServerSocketChannel.open();
        listener.bind(new InetSocketAddress("127.0.0.1", port), 1024);
        System.out.println("ring relay on 127.0.0.1:" + port + " -> 127.0.0.1:" + upstreamPort);
        while (true) {
            SocketChannel client = listener.accept();
            SocketChannel upstream;
            try {
                upstream = SocketChannel.open(new InetSocketAddress("127.0.0.1", upstreamPort));
            } catch (IOException e) {
                client.close();
                continue;
            }
            client.setOption(StandardSocketOptions.TCP_NODELAY, true);
            upstream.setOption(StandardSocketOptions.TCP_NODELAY, true);
            Pair pair = new Pair(client, (int) fdVal.invoke(client), upstream, (int) fdVal.invoke(upstream));
            loop.register(pair).addListener(f -> {
                if (f.isSuccess()) {
                    loop.execute(() -> pair.start((IoRegistration) f.getNow()));
                } else {
                    pair.close();
                }
            });
        }
    }

    /** One client connection and its upstream connection, relayed both ways. */
    private static final class Pair implements IoUringIoHandle {
        private final SocketChannel clientChannel;
        private final SocketChannel upstreamChannel;
        private final int clientFd;
        private final int upstreamFd;
        private final ByteBuffer toUpstream = ByteBuffer.allocateDirect(BUFFER_BYTES);
        private final ByteBuffer toClient = ByteBuffer.allocateDirect(BUFFER_BYTES);
        private final long toUpstreamAddress = PlatformDependent.directBufferAddress(toUpstream);
        private final long toClientAddress = PlatformDependent.directBufferAddress(toClient);
        /** Bytes received and not yet sent, and how many of them are sent, per direction. */
        private int upstreamPending;
        private int upstreamSent;
        private int clientPending;
        private int clientSent;
        private IoRegistration registration;
        private boolean closed;

        Pair(SocketChannel clientChannel, int clientFd, SocketChannel upstreamChannel, int upstreamFd) {
            this.clientChannel = clientChannel;
            this.clientFd = clientFd;
            this.upstreamChannel = upstreamChannel;
            this.upstreamFd = upstreamFd;
        }

        void start(IoRegistration registration) {
            this.registration = registration;
            recv(clientFd, toUpstreamAddress, CLIENT_RECV);
            recv(upstreamFd, toClientAddress, UPSTREAM_RECV);
        }

        private void recv(int fd, long address, short what) {
            registration.submit(new IoUringIoOps(OP_RECV, (byte) 0, (short) 0, fd, 0, address, BUFFER_BYTES, 0, what,
                    (short) 0, (short) 0, 0, 0));
        }

        private void send(int fd, long address, int length, short what) {
            registration.submit(new IoUringIoOps(OP_SEND, (byte) 0, (short) 0, fd, 0, address, length, 0, what,
                    (short) 0, (short) 0, 0, 0));
        }

        @Override
        public void handle(IoRegistration registration, IoEvent ioEvent) {
            IoUringIoEvent event = (IoUringIoEvent) ioEvent;
            int res = event.res();
            if (closed) {
                return; // a receive ended by the shutdown
            }
            if (res <= 0) {
                shutDown(); // end of stream or an error on either side: both go
                return;
            }
            switch (event.data()) {
                case CLIENT_RECV -> {
                    upstreamPending = res;
                    upstreamSent = 0;
                    send(upstreamFd, toUpstreamAddress, res, UPSTREAM_SEND);
                }
                case UPSTREAM_SEND -> {
                    upstreamSent += res;
                    if (upstreamSent < upstreamPending) {
                        send(upstreamFd, toUpstreamAddress + upstreamSent, upstreamPending - upstreamSent, UPSTREAM_SEND);
                    } else {
                        recv(clientFd, toUpstreamAddress, CLIENT_RECV);
                    }
                }
                case UPSTREAM_RECV -> {
                    clientPending = res;
                    clientSent = 0;
                    send(clientFd, toClientAddress, res, CLIENT_SEND);
                }
                case CLIENT_SEND -> {
                    clientSent += res;
                    if (clientSent < clientPending) {
                        send(clientFd, toClientAddress + clientSent, clientPending - clientSent, CLIENT_SEND);
                    } else {
                        recv(upstreamFd, toClientAddress, UPSTREAM_RECV);
                    }
                }
                default -> shutDown();
            }
        }

        /**
         * A shutdown ends the receive still pending on each socket (it completes with nothing) and
         * tells the peers; io_uring holds a socket open while an operation on it is pending.
         */
        private void shutDown() {
            close();
            registration.cancel();
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            try {
                clientChannel.shutdownInput().shutdownOutput();
            } catch (IOException ignored) {
                // already gone
            }
            try {
                upstreamChannel.shutdownInput().shutdownOutput();
            } catch (IOException ignored) {
                // already gone
            }
            try {
                clientChannel.close();
            } catch (IOException ignored) {
                // closing: nothing to do
            }
            try {
                upstreamChannel.close();
            } catch (IOException ignored) {
                // closing: nothing to do
            }
        }
    }
}
