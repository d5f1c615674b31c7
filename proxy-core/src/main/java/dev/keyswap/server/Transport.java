package dev.keyswap.server;

import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringDatagramChannel;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import java.util.List;

/**
 * The I/O transport ({@code server.transport}). {@code auto} takes io_uring where the kernel
 * offers it, else epoll, else NIO. Measured in proxy-bench (docs/performance.md), io_uring
 * serves ~25 % more proxied requests per CPU second than epoll at 16 to 256 concurrent
 * connections, while epoll answers a lone client ~20 µs sooner: set {@code epoll} for a sidecar
 * that only ever sees one caller at a time.
 */
public record Transport(String name, IoHandlerFactory ioHandlerFactory, Class<? extends ServerChannel> serverChannel,
                        Class<? extends SocketChannel> socketChannel, Class<? extends DatagramChannel> datagramChannel) {

    /** The values {@code server.transport} accepts. */
    public static final List<String> NAMES = List.of("auto", "io_uring", "epoll", "nio");

    /**
     * The named transport. {@code auto} falls back quietly; a transport asked for by name that
     * this machine cannot load is an error that says why (a kernel without io_uring, a seccomp
     * profile that blocks it, a non-Linux OS).
     */
    public static Transport named(String name) {
        switch (name) {
            case "auto":
                return IoUring.isAvailable() ? ioUring() : Epoll.isAvailable() ? epoll() : nio();
            case "io_uring":
                if (!IoUring.isAvailable()) {
                    throw new IllegalStateException("server.transport is io_uring, but io_uring is not available here: "
                            + IoUring.unavailabilityCause());
                }
                return ioUring();
            case "epoll":
                if (!Epoll.isAvailable()) {
                    throw new IllegalStateException("server.transport is epoll, but epoll is not available here: "
                            + Epoll.unavailabilityCause());
                }
                return epoll();
            case "nio":
                return nio();
            default:
                throw new IllegalArgumentException("unknown transport '" + name + "'; one of " + NAMES);
        }
    }

    private static Transport ioUring() {
        return new Transport("io_uring", IoUringIoHandler.newFactory(), IoUringServerSocketChannel.class,
                IoUringSocketChannel.class, IoUringDatagramChannel.class);
    }

    private static Transport epoll() {
        return new Transport("epoll", EpollIoHandler.newFactory(), EpollServerSocketChannel.class,
                EpollSocketChannel.class, EpollDatagramChannel.class);
    }

    public static Transport nio() {
        return new Transport("nio", NioIoHandler.newFactory(), NioServerSocketChannel.class,
                NioSocketChannel.class, NioDatagramChannel.class);
    }
}
