package dev.keyswap.upstream;

import dev.keyswap.connect.AddressPolicy;
import dev.keyswap.route.UpstreamTarget;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.resolver.dns.DnsAddressResolverGroup;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import io.netty.util.concurrent.Future;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands out upstream connections from the pool of the caller's event loop. One per server;
 * the pools themselves are loop-confined.
 */
public final class UpstreamConnector implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(UpstreamConnector.class);
    /**
     * Built before the listener binds when a trust file is configured (a bad one stops the start);
     * otherwise in the background once it has bound (BoringSSL's start-up and the context are
     * ~0.2 s of CPU, an eighth of a start on one CPU), where the first TLS connect waits for it.
     */
    private final CompletableFuture<UpstreamTls> tls;
    private final AtomicBoolean tlsStarted = new AtomicBoolean();
    private final Supplier<UpstreamTls> defaultTls;
    final UpstreamMetrics metrics;
    final OffLoopTimer timer;
    final long idleTimeoutMillis;
    final long poolIdleMillis;
    final int maxIdlePerUpstream;
    final int maxResponseHeaderBytes;
    final AddressPolicy addressPolicy;
    final DnsAddressResolverGroup resolverGroup;
    private final Bootstrap template;
    private final DnsAddressResolverGroup resolver;
    private final Map<EventLoop, UpstreamPool> pools = new ConcurrentHashMap<>();

    /** Tunables of the upstream side, with the defaults documented in config/keyswap.yaml. */
    public record Settings(Duration connectTimeout, Duration idleTimeout, Duration poolIdleTimeout,
                           int maxIdlePerUpstream, int maxResponseHeaderBytes, String trustCertFile,
                           List<String> allowPrivateAddresses) {
        /** A trust file is configured: the TLS context is then built, and the file checked, before the listener binds. */
        public boolean hasTrustFile() {
            return trustCertFile != null && !trustCertFile.isBlank();
        }
    }

    /** @param timer the server's: the connections' idle timers and the pools' sweeps wait there */
    public UpstreamConnector(Settings settings, Class<? extends SocketChannel> channelClass,
                             Class<? extends DatagramChannel> datagramClass, UpstreamMetrics metrics, OffLoopTimer timer) {
        this(settings, channelClass, datagramClass, metrics, timer, () -> UpstreamTls.create(null));
    }

    /** @param defaultTls builds the profile used when no trust file is configured (tests hold it back) */
    UpstreamConnector(Settings settings, Class<? extends SocketChannel> channelClass, Class<? extends DatagramChannel> datagramClass,
                      UpstreamMetrics metrics, OffLoopTimer timer, Supplier<UpstreamTls> defaultTls) {
        this.defaultTls = defaultTls;
        this.timer = timer;
        if (settings.hasTrustFile()) {
            this.tls = CompletableFuture.completedFuture(UpstreamTls.create(settings.trustCertFile()));
        } else {
            this.tls = new CompletableFuture<>();
        }
        this.metrics = metrics;
        this.idleTimeoutMillis = settings.idleTimeout().toMillis();
        this.poolIdleMillis = settings.poolIdleTimeout().toMillis();
        this.maxIdlePerUpstream = settings.maxIdlePerUpstream();
        this.maxResponseHeaderBytes = settings.maxResponseHeaderBytes();
        this.resolver = new DnsAddressResolverGroup(new DnsNameResolverBuilder().datagramChannelType(datagramClass));
        this.resolverGroup = resolver;
        this.addressPolicy = new AddressPolicy(settings.allowPrivateAddresses());
        this.template = new Bootstrap()
                .channel(channelClass)
                .resolver(resolver)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, settings.connectTimeout().toMillis()));
    }

    /**
     * Must be called on {@code loop}; the connection is registered on it.
     *
     * @param tenantAddress the target came from a tenant: the SSRF guard checks the address
     *                      actually connected to, pooled or new
     */
    public Future<Channel> acquire(UpstreamTarget target, EventLoop loop, boolean tenantAddress) {
        return pool(loop).acquire(target, tenantAddress);
    }

    /** Returns a connection after a complete, clean exchange; on its own loop. */
    public void release(Channel ch) {
        UpstreamHandler h = UpstreamHandler.of(ch);
        if (h == null) {
            ch.close(); // no longer an HTTP connection of ours (a WebSocket splice): nothing to pool
            return;
        }
        h.detach();
        // The connection's own handler knows its pool: the map lookup by event loop was ~0.2 µs a
        // request in the profile (a shared map's cache lines, touched from every loop).
        h.pool().release(ch, h);
    }

    /** Binds an exchange to a leased connection. */
    public static void attach(Channel ch, UpstreamListener listener) {
        UpstreamHandler.of(ch).attach(listener);
    }

    /** Unbinds an exchange before it closes the connection, so the close is not reported back. */
    public static void detach(Channel ch) {
        UpstreamHandler h = UpstreamHandler.of(ch);
        if (h != null) {
            h.detach();
        }
    }

    /**
     * Starts the response-header timeout of a leased connection: its exchange hears
     * {@link UpstreamListener#onResponseDeadline} unless {@link #responseStarted} comes first.
     * The connection's idle timer keeps the deadline, so no timer is scheduled per request.
     */
    public static void expectResponseWithin(Channel ch, long millis) {
        UpstreamHandler.of(ch).expectResponseWithin(TimeUnit.MILLISECONDS.toNanos(millis));
    }

    /** Stops the response-header timeout: the head arrived on a connection the exchange keeps streaming from. */
    public static void responseStarted(Channel ch) {
        UpstreamHandler h = UpstreamHandler.of(ch);
        if (h != null) {
            h.responseStarted();
        }
    }

    public static boolean wasReused(Channel ch) {
        UpstreamHandler h = UpstreamHandler.of(ch);
        return h != null && h.reused;
    }

    /** The largest upstream response head accepted (upstream.max_response_header_bytes). */
    public int maxResponseHeaderBytes() {
        return maxResponseHeaderBytes;
    }

    /** The upstream TLS profile; waits for it to be built if it is not yet. */
    public UpstreamTls tls() {
        return tlsReady().join();
    }

    /**
     * The upstream TLS profile, once built: starts building it (with the JVM's trust store) on a
     * thread of its own the first time it is asked for. The server asks as soon as it listens.
     */
    public CompletableFuture<UpstreamTls> tlsReady() {
        if (!tls.isDone() && tlsStarted.compareAndSet(false, true)) {
            Thread builder = new Thread(() -> {
                try {
                    UpstreamTls built = defaultTls.get();
                    log.debug("upstream TLS via {}", built.provider());
                    tls.complete(built);
                } catch (Throwable e) {
                    log.error("cannot build the upstream TLS context; connections to https upstreams fail: {}", e.getMessage());
                    tls.completeExceptionally(e);
                }
            }, "keyswap-upstream-tls");
            builder.setDaemon(true);
            builder.start();
        }
        return tls;
    }

    private UpstreamPool pool(EventLoop loop) {
        UpstreamPool p = pools.get(loop);
        return p != null ? p : pools.computeIfAbsent(loop, l -> new UpstreamPool(this, l, template));
    }

    /** Idle connections across all pools (for tests and metrics; loop-confined counts read racily). */
    public int idleConnections() {
        int n = 0;
        for (UpstreamPool p : pools.values()) {
            n += p.idleCount();
        }
        return n;
    }

    @Override
    public void close() {
        for (Map.Entry<EventLoop, UpstreamPool> e : pools.entrySet()) {
            if (!e.getKey().isShuttingDown()) {
                e.getKey().execute(e.getValue()::closeAll);
            }
        }
        resolver.close();
    }
}
