package dev.keyswap.server;

import dev.keyswap.auth.Authenticator;
import dev.keyswap.connect.ConnectionDirectory;
import dev.keyswap.connect.KeyPool;
import dev.keyswap.pipeline.AuthStep;
import dev.keyswap.pipeline.CorsHandler;
import dev.keyswap.pipeline.HeadSteps;
import dev.keyswap.pipeline.KeySwapStep;
import dev.keyswap.pipeline.RateLimitStep;
import dev.keyswap.pipeline.RelayHandler;
import dev.keyswap.pipeline.RelayMetrics;
import dev.keyswap.pipeline.RequestReader;
import dev.keyswap.pipeline.RouteStep;
import dev.keyswap.pipeline.ServiceEndpoints;
import dev.keyswap.pipeline.UnclaimedContentHandler;
import dev.keyswap.pipeline.WebSocketLimitStep;
import dev.keyswap.policy.RateLimiter;
import dev.keyswap.policy.SocketLimiter;
import dev.keyswap.route.ProviderCatalog;
import dev.keyswap.upstream.IdleTimeoutHandler;
import dev.keyswap.upstream.OffLoopTimer;
import dev.keyswap.upstream.UpstreamConnector;
import dev.keyswap.upstream.UpstreamMetrics;
import dev.keyswap.usage.UsageLog;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The data plane's listening socket and its pipeline, in the order a request meets it:
 * request reader (with the guard) → CORS → service endpoints → route → auth → rate limit →
 * key swap → relay → tail, and Keyswap's own responses out through an encoder. Owns the event
 * loops; {@link #drain} is its orderly end.
 */
public final class ProxyServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ProxyServer.class);

    /** Listener and request limits; {@code transport} is one of {@link Transport#NAMES}. */
    public record Settings(String host, int port, String transport, int ioThreads, Set<String> corsAllowedOrigins, long maxBodyBytes,
                           int maxHeaderBytes, int maxInitialLineBytes, Duration responseHeaderTimeout,
                           Duration clientIdleTimeout, Path tlsCertFile, Path tlsKeyFile, int maxWebSocketsPerToken) {
    }

    private final Settings settings;
    private final ProviderCatalog catalog;
    private final Authenticator authenticator;
    private final RateLimiter rateLimiter = new RateLimiter();
    private final UpstreamConnector connector;
    /** The idle and deadline timers of every connection, and the pools' sweeps: none on the loops. */
    private final OffLoopTimer timer = new OffLoopTimer();
    private final UsageLog usageLog;
    private final RelayMetrics relayMetrics = new RelayMetrics();
    private final UpstreamMetrics upstreamMetrics = new UpstreamMetrics();
    private final Supplier<String> extraMetrics;
    private final Transport transport;
    private final InboundTls inboundTls;
    private final SocketLimiter webSocketLimiter = new SocketLimiter();
    private final KeyPool keyPool = new KeyPool();
    private final KeySwapStep credentials;
    private final EventLoopGroup bossGroup;
    private final EventLoopGroup workerGroup;
    private final ChannelGroup clients = new DefaultChannelGroup("keyswap-clients", GlobalEventExecutor.INSTANCE);
    private volatile boolean draining;
    private Channel listener;

    public ProxyServer(Settings settings, ProviderCatalog catalog, Authenticator authenticator, ConnectionDirectory connections,
                       UpstreamConnector.Settings upstreamSettings, UsageLog usageLog, Supplier<String> extraMetrics) {
        this.settings = settings;
        this.catalog = catalog;
        this.credentials = new KeySwapStep(connections, catalog, keyPool);
        this.authenticator = authenticator;
        this.usageLog = usageLog;
        this.extraMetrics = extraMetrics;
        this.transport = Transport.named(settings.transport());
        this.inboundTls = settings.tlsCertFile() == null ? null : new InboundTls(settings.tlsCertFile(), settings.tlsKeyFile());
        this.bossGroup = new UntimedWaitEventLoopGroup(1, transport.ioHandlerFactory());
        // One event loop per core the process may use: more only adds context switches, since a
        // request never blocks its loop (Netty's own default is twice the cores).
        int loops = settings.ioThreads() > 0 ? settings.ioThreads() : Runtime.getRuntime().availableProcessors();
        this.workerGroup = new UntimedWaitEventLoopGroup(loops, transport.ioHandlerFactory());
        this.connector = new UpstreamConnector(upstreamSettings, transport.socketChannel(), transport.datagramChannel(), upstreamMetrics,
                timer);
    }

    /** Binds the listener; returns once it accepts connections. */
    public ProxyServer start() throws InterruptedException {
        ServerBootstrap b = new ServerBootstrap()
                .group(bossGroup, workerGroup)
                .channel(transport.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 4096)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.AUTO_READ, false)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        clients.add(ch);
                        initPipeline(ch.pipeline());
                    }
                });
        listener = b.bind(settings.host(), settings.port()).sync().channel();
        log.info("Keyswap listening on {}://{}:{} ({} transport)", inboundTls == null ? "http" : "https",
                settings.host(), port(), transport.name());
        connector.tlsReady(); // built now, while the first requests are still on their way
        return this;
    }

    private void initPipeline(ChannelPipeline p) {
        if (inboundTls != null) {
            p.addLast("tls", inboundTls.newHandler(p.channel().alloc()));
        }
        // Closes keep-alive connections nobody uses; an exchange in progress is timed by its upstream side.
        p.addLast("idle", new IdleTimeoutHandler(settings.clientIdleTimeout().toMillis(), timer));
        // Netty's encoder writes the responses Keyswap answers itself (errors, CORS preflights,
        // /healthz); a relayed response is written as bytes below it.
        p.addLast(RelayHandler.ENCODER, new HttpResponseEncoder());
        RequestReader reader = new RequestReader(settings.maxInitialLineBytes(), settings.maxHeaderBytes(), settings.maxBodyBytes());
        p.addLast(RequestReader.NAME, reader);
        p.addLast("cors", CorsHandler.forOrigins(settings.corsAllowedOrigins()));
        p.addLast("steps", new HeadSteps(relayMetrics,
                new ServiceEndpoints(() -> draining, this::metricsText),
                new RouteStep(catalog),
                new AuthStep(authenticator),
                new RateLimitStep(rateLimiter),
                credentials.newStep(inboundTls != null),
                new WebSocketLimitStep(webSocketLimiter, settings.maxWebSocketsPerToken())));
        p.addLast("relay", new RelayHandler(connector, usageLog, relayMetrics, keyPool, settings.responseHeaderTimeout()));
        p.addLast("tail", new UnclaimedContentHandler());
        // CORS and the steps act on request heads only; a body goes straight to the relay.
        reader.sendBodyPast(p.context("steps"));
    }

    public int port() {
        return ((InetSocketAddress) listener.localAddress()).getPort();
    }

    public RelayMetrics relayMetrics() {
        return relayMetrics;
    }

    public UpstreamMetrics upstreamMetrics() {
        return upstreamMetrics;
    }

    public UpstreamConnector connector() {
        return connector;
    }

    public boolean isDraining() {
        return draining;
    }

    /**
     * Stops accepting, lets in-flight exchanges and WebSocket sessions finish for at most {@code
     * timeout}, lets every connection write out what it has been given, then closes every
     * connection and the event loops. New requests on open keep-alive connections get 503.
     *
     * <p>A request accepted before the drain but still waiting on a token or credential lookup
     * is waited for as an exchange is (it goes on to be relayed).
     *
     * <p>An exchange counts as finished once the upstream's last byte is read, while the end of
     * its response may still be queued for a slow client: closing then threw that tail away
     * (Netty's close fails what is unwritten), so each connection is closed only after a flush
     * of what it holds, within the same deadline. A spliced WebSocket is no exchange and was cut
     * at once; it too gets until the deadline.
     */
    public void drain(Duration timeout) {
        draining = true;
        if (listener != null) {
            listener.close().syncUninterruptibly();
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        while (unfinished() && waitUntil(deadline)) {
            // polled: exchanges end on many event loops
        }
        if (unfinished()) {
            log.warn("drain timeout: closing {} unfinished exchanges, {} requests waiting on storage and {} WebSocket sessions",
                    relayMetrics.active(), relayMetrics.parked(), relayMetrics.webSockets());
        }
        for (Channel client : clients) {
            client.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
        while (!clients.isEmpty() && waitUntil(deadline)) {
            // the group forgets each connection as it closes
        }
        close();
    }

    /** Whether a request, exchange or WebSocket session the drain waits for is still going. */
    private boolean unfinished() {
        return relayMetrics.active() > 0 || relayMetrics.parked() > 0 || relayMetrics.webSockets() > 0;
    }

    /** Sleeps a little; false once {@code deadline} has passed (or the thread was interrupted). */
    private static boolean waitUntil(long deadline) {
        if (System.nanoTime() >= deadline) {
            return false;
        }
        try {
            Thread.sleep(20);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @Override
    public void close() {
        draining = true;
        if (listener != null) {
            listener.close().syncUninterruptibly();
        }
        clients.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        connector.close();
        bossGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        workerGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        timer.close();
    }

    private String metricsText() {
        StringBuilder sb = new StringBuilder(1024);
        counter(sb, "keyswap_exchanges_total", "Requests relayed to an upstream.", relayMetrics.exchanges());
        gauge(sb, "keyswap_exchanges_active", "Requests being relayed now.", relayMetrics.active());
        gauge(sb, "keyswap_requests_parked", "Requests waiting on a token or credential lookup in storage.", relayMetrics.parked());
        counter(sb, "keyswap_upstream_errors_total", "Upstream failures: refused, reset, timed out, malformed.", relayMetrics.upstreamErrors());
        counter(sb, "keyswap_client_aborts_total", "Exchanges ended by the client going away.", relayMetrics.clientAborts());
        counter(sb, "keyswap_upstream_retries_total", "Bodiless requests resent after a pooled connection closed under them.", relayMetrics.retries());
        counter(sb, "keyswap_upstream_connections_total", "Upstream connections opened.", upstreamMetrics.connections());
        counter(sb, "keyswap_upstream_reuses_total", "Requests sent on a pooled keep-alive connection.", upstreamMetrics.reuses());
        gauge(sb, "keyswap_websockets_open", "WebSocket sessions spliced now.", relayMetrics.webSockets());
        gauge(sb, "keyswap_draining", "1 while shutting down.", draining ? 1 : 0);
        if (extraMetrics != null) {
            sb.append(extraMetrics.get());
        }
        return sb.toString();
    }

    static void counter(StringBuilder sb, String name, String help, long value) {
        sb.append("# HELP ").append(name).append(' ').append(help).append('\n')
                .append("# TYPE ").append(name).append(" counter\n")
                .append(name).append(' ').append(value).append('\n');
    }

    static void gauge(StringBuilder sb, String name, String help, long value) {
        sb.append("# HELP ").append(name).append(' ').append(help).append('\n')
                .append("# TYPE ").append(name).append(" gauge\n")
                .append(name).append(' ').append(value).append('\n');
    }
}
