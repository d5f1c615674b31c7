package dev.keyswap.bench.load;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.IoEvent;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.uring.IoUringIoEvent;
import io.netty.channel.uring.IoUringIoHandle;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringIoOps;
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
        BareNettyProxy.serve(group, "channel relay", port, upstreamPort, () -> new ChannelHandler[] {new ClientSide(upstreamPort)});
    }

    /** Connects this client's own upstream, then relays both ways ({@link BareNettyProxy.ForwardTo}). */
    private static final class ClientSide extends ChannelInboundHandlerAdapter {
        private final int upstreamPort;

        ClientSide(int upstreamPort) {
            this.upstreamPort = upstreamPort;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            Channel client = ctx.channel();
            BareNettyProxy.connectBeside(client, upstreamPort, new BareNettyProxy.ForwardTo(client))
                    .addListener((ChannelFutureListener) f -> {
                        if (!f.isSuccess()) {
                            client.close();
                            return;
                        }
                        ctx.pipeline().replace(this, "forward", new BareNettyProxy.ForwardTo(f.channel()));
                        client.config().setAutoRead(true);
                    });
        }
    }

    // ---- ring: Netty's io_uring handle API

    private static final byte OP_SEND = 26;
    private static final byte OP_RECV = 27;
    /** A completion's data: which direction (bit 1) and whether it ends a send (bit 0). */
    private static final short SEND = 1;
    private static final short TO_CLIENT = 2;

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
            // The registration's promise is the loop's own, so this listener already runs on the loop.
            loop.register(pair).addListener(f -> {
                if (f.isSuccess()) {
                    pair.start((IoRegistration) f.getNow());
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
        private final Direction toUpstream;
        private final Direction toClient;
        private IoRegistration registration;
        private boolean closed;

        Pair(SocketChannel clientChannel, int clientFd, SocketChannel upstreamChannel, int upstreamFd) {
            this.clientChannel = clientChannel;
            this.upstreamChannel = upstreamChannel;
            this.toUpstream = new Direction(clientFd, upstreamFd, (short) 0);
            this.toClient = new Direction(upstreamFd, clientFd, TO_CLIENT);
        }

        void start(IoRegistration registration) {
            this.registration = registration;
            toUpstream.recv();
            toClient.recv();
        }

        /** Bytes received from one socket into one fixed buffer, then sent from it to the other. */
        private final class Direction {
            private final int fromFd;
            private final int toFd;
            private final short tag;
            private final ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER_BYTES);
            private final long address = PlatformDependent.directBufferAddress(buffer);
            /** Bytes received and not yet sent on, and how many of them are sent. */
            private int pending;
            private int sent;

            Direction(int fromFd, int toFd, short tag) {
                this.fromFd = fromFd;
                this.toFd = toFd;
                this.tag = tag;
            }

            void recv() {
                submit(OP_RECV, fromFd, address, BUFFER_BYTES, tag);
            }

            void received(int bytes) {
                pending = bytes;
                sent = 0;
                submit(OP_SEND, toFd, address, bytes, (short) (tag | SEND));
            }

            void sentSome(int bytes) {
                sent += bytes;
                if (sent < pending) {
                    submit(OP_SEND, toFd, address + sent, pending - sent, (short) (tag | SEND));
                } else {
                    recv();
                }
            }
        }

        private void submit(byte op, int fd, long address, int length, short data) {
            registration.submit(new IoUringIoOps(op, (byte) 0, (short) 0, fd, 0, address, length, 0, data,
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
            short data = event.data();
            Direction direction = (data & TO_CLIENT) != 0 ? toClient : toUpstream;
            if ((data & SEND) != 0) {
                direction.sentSome(res);
            } else {
                direction.received(res);
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
            shutAndClose(clientChannel);
            shutAndClose(upstreamChannel);
        }

        private static void shutAndClose(SocketChannel channel) {
            try {
                channel.shutdownInput().shutdownOutput();
            } catch (IOException ignored) {
                // already gone
            }
            try {
                channel.close();
            } catch (IOException ignored) {
                // closing: nothing to do
            }
        }
    }
}
