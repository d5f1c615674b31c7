package dev.keyswap.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keyswap.route.UpstreamTarget;
import dev.keyswap.server.Transport;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.util.concurrent.Future;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The upstream TLS context is built after the listener binds when no trust file is configured:
 * an https connection asked for before it is ready waits for it, and one that cannot be built
 * fails the connection with its reason instead of hanging it.
 */
class UpstreamConnectorTlsTest {
    private static final UpstreamConnector.Settings NO_TRUST_FILE = new UpstreamConnector.Settings(Duration.ofSeconds(5),
            Duration.ofSeconds(30), Duration.ofSeconds(30), 8, 65536, null, List.of());

    private final Transport transport = Transport.nio();
    private EventLoopGroup group;
    private final OffLoopTimer timer = new OffLoopTimer();
    private ServerSocket upstream;
    private final AtomicInteger accepted = new AtomicInteger();

    @BeforeEach
    void start() throws Exception {
        group = new MultiThreadIoEventLoopGroup(1, transport.ioHandlerFactory());
        // Plain TCP: it only counts connections (the handshake that follows fails, which is fine).
        upstream = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(() -> {
            try {
                while (true) {
                    Socket s = upstream.accept();
                    accepted.incrementAndGet();
                    s.close();
                }
            } catch (Exception closed) {
                // the test is over
            }
        }, "tls-test-upstream");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    @AfterEach
    void stop() throws Exception {
        upstream.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        timer.close();
    }

    private UpstreamConnector connector(Supplier<UpstreamTls> defaultTls) {
        return new UpstreamConnector(NO_TRUST_FILE, transport.socketChannel(), transport.datagramChannel(),
                new UpstreamMetrics(), timer, defaultTls);
    }

    /** The default profile, built once {@code release} opens. */
    private static Supplier<UpstreamTls> builtAfter(CountDownLatch release) {
        return () -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return UpstreamTls.create(null);
        };
    }

    private Future<Channel> acquireHttps(UpstreamConnector connector) throws Exception {
        EventLoop loop = group.next();
        UpstreamTarget target = new UpstreamTarget(true, "localhost", upstream.getLocalPort(), "");
        return loop.submit(() -> connector.acquire(target, loop, false)).get(5, TimeUnit.SECONDS);
    }

    @Test
    void anHttpsConnectionAskedForBeforeTheContextIsBuiltWaitsForIt() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        try (UpstreamConnector connector = connector(builtAfter(release))) {
            Future<Channel> connection = acquireHttps(connector);
            assertFalse(connection.await(300), "no connection before the TLS context exists");
            assertEquals(0, accepted.get(), "nothing was sent to the upstream while the context was being built");

            release.countDown();
            assertTrue(connection.await(5, TimeUnit.SECONDS), "the connection goes ahead once the context is built");
            assertEquals(1, accepted.get(), "then it connects");
            assertFalse(connection.isSuccess(), "a plain TCP server cannot complete the handshake");
            assertTrue(connector.tlsReady().isDone() && !connector.tlsReady().isCompletedExceptionally());
        }
    }

    @Test
    void aContextThatCannotBeBuiltFailsTheConnectionWithItsReason() throws Exception {
        IllegalStateException broken = new IllegalStateException("no TLS here");
        try (UpstreamConnector connector = connector(() -> {
            throw broken;
        })) {
            Future<Channel> connection = acquireHttps(connector);
            assertTrue(connection.await(5, TimeUnit.SECONDS), "a failed build must not leave the request hanging");
            assertFalse(connection.isSuccess());
            assertSame(broken, connection.cause());
            // Asked for again now that the build has certainly failed: the same reason, at once.
            Future<Channel> again = acquireHttps(connector);
            assertTrue(again.await(5, TimeUnit.SECONDS));
            assertSame(broken, again.cause());
            assertEquals(0, accepted.get(), "no connection is opened without a TLS context");
        }
    }

    @Test
    void plainHttpDoesNotWaitForTheContext() throws Exception {
        CountDownLatch never = new CountDownLatch(1);
        try (UpstreamConnector connector = connector(builtAfter(never))) {
            connector.tlsReady(); // being built, and never done
            EventLoop loop = group.next();
            UpstreamTarget target = new UpstreamTarget(false, "localhost", upstream.getLocalPort(), "");
            Future<Channel> connection = loop.submit(() -> connector.acquire(target, loop, false)).get(5, TimeUnit.SECONDS);
            assertTrue(connection.await(5, TimeUnit.SECONDS));
            assertTrue(connection.isSuccess(), "an http upstream is reached at once");
            connection.getNow().close().sync();
        } finally {
            never.countDown();
        }
    }
}
