package dev.keyswap.upstream;

import dev.keyswap.route.UpstreamTarget;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.NetUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.PromiseNotifier;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The keep-alive connections of one event loop, per upstream. Touched only from its own loop,
 * so it needs no locks; a request leases a connection registered on the same loop as its
 * client, and never hops threads. A connection comes back only after a complete, clean exchange
 * and leaves when idle longer than the pool timeout (shorter than typical upstream keep-alives)
 * or when the upstream sends or closes anything while it sits idle.
 */
final class UpstreamPool {
    record Key(boolean tls, String host, int port) {
        static Key of(UpstreamTarget t) {
            return new Key(t.tls(), t.host(), t.port());
        }
    }

    private final UpstreamConnector connector;
    private final EventLoop loop;
    private final Bootstrap bootstrap;
    private final Map<Key, ArrayDeque<Channel>> idle = new HashMap<>();
    private ScheduledFuture<?> sweeping;

    UpstreamPool(UpstreamConnector connector, EventLoop loop, Bootstrap template) {
        this.connector = connector;
        this.loop = loop;
        this.bootstrap = template.clone(loop);
    }

    /** A clean idle connection if there is one, else a new one (TLS handshake done). */
    Future<Channel> acquire(UpstreamTarget target, boolean tenantAddress) {
        Key key = Key.of(target);
        ArrayDeque<Channel> channels = idle.get(key);
        if (channels != null) {
            Channel ch;
            while ((ch = channels.pollLast()) != null) {
                if (ch.isActive() && tenantAddress && !permitted(ch)) {
                    // Pooled for a trusted provider at a private address: not for a tenant.
                    channels.addFirst(ch);
                    break;
                }
                if (ch.isActive()) {
                    UpstreamHandler h = UpstreamHandler.of(ch);
                    h.reused = true;
                    connector.metrics.upstreamReused();
                    return loop.newSucceededFuture(ch);
                }
                ch.close();
            }
        }
        if (key.tls()) {
            CompletableFuture<UpstreamTls> tls = connector.tlsReady();
            if (!tls.isDone() || tls.isCompletedExceptionally()) {
                // In the first moments after start (or, if it could not be built, with its reason).
                return afterTls(tls, key, tenantAddress);
            }
        }
        return open(key, tenantAddress);
    }

    private Future<Channel> open(Key key, boolean tenantAddress) {
        if (!tenantAddress) {
            return connect(key, address(key));
        }
        return guardedConnect(key);
    }

    /** Opens the connection on this loop once the upstream TLS context is built; fails as its building did. */
    private Future<Channel> afterTls(CompletableFuture<UpstreamTls> tls, Key key, boolean tenantAddress) {
        Promise<Channel> promise = loop.newPromise();
        tls.whenComplete((built, failed) -> loop.execute(() -> {
            if (failed != null) {
                promise.tryFailure(failed);
                return;
            }
            PromiseNotifier.cascade(open(key, tenantAddress), promise);
        }));
        return promise;
    }

    private boolean permitted(Channel ch) {
        return ch.remoteAddress() instanceof InetSocketAddress a && a.getAddress() != null
                && connector.addressPolicy.permits(a.getAddress());
    }

    /** Resolves first, checks the address, and connects to exactly that address. */
    private Future<Channel> guardedConnect(Key key) {
        SocketAddress unresolved = address(key);
        Promise<Channel> promise = loop.newPromise();
        Future<InetSocketAddress> resolved = unresolved instanceof InetSocketAddress a && !a.isUnresolved()
                ? loop.<InetSocketAddress>newSucceededFuture(a)
                : connector.resolverGroup.getResolver(loop).resolve(unresolved);
        resolved.addListener(f -> {
            if (!f.isSuccess()) {
                promise.tryFailure(f.cause());
                return;
            }
            InetSocketAddress address = resolved.getNow();
            if (!connector.addressPolicy.permits(address.getAddress())) {
                promise.tryFailure(new AddressNotAllowedException(key.host(), address.getAddress()));
                return;
            }
            PromiseNotifier.cascade(connect(key, address), promise);
        });
        return promise;
    }

    private Future<Channel> connect(Key key, SocketAddress address) {
        Promise<Channel> promise = loop.newPromise();
        connector.metrics.upstreamConnected();
        ChannelFuture connect = bootstrap.clone()
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ChannelPipeline p = ch.pipeline();
                        if (key.tls()) {
                            p.addLast("tls", connector.tls().newHandler(ch.alloc(), key.host(), key.port()));
                        }
                        // Both ways bytes: the exchange writes requests already in HTTP/1.1 form
                        // and reads responses itself (RequestHead, UpstreamResponseReader in the
                        // pipeline package).
                        IdleTimeoutHandler idle = new IdleTimeoutHandler(connector.idleTimeoutMillis, connector.timer);
                        p.addLast("idle", idle);
                        p.addLast("upstream", new UpstreamHandler(UpstreamPool.this, key, idle));
                    }
                })
                .connect(address);
        connect.addListener(f -> {
            if (!f.isSuccess()) {
                promise.tryFailure(f.cause());
                return;
            }
            Channel ch = connect.channel();
            SslHandler ssl = ch.pipeline().get(SslHandler.class);
            if (ssl == null) {
                promise.trySuccess(ch);
            } else {
                ssl.handshakeFuture().addListener(h -> {
                    if (h.isSuccess()) {
                        promise.trySuccess(ch);
                    } else {
                        ch.close();
                        promise.tryFailure(h.cause());
                    }
                });
            }
        });
        return promise;
    }

    /** IP literals skip resolution; names go through Netty's non-blocking resolver. */
    private static SocketAddress address(Key key) {
        byte[] ip = NetUtil.createByteArrayFromIpAddressString(key.host());
        if (ip != null) {
            try {
                return new InetSocketAddress(InetAddress.getByAddress(key.host(), ip), key.port());
            } catch (UnknownHostException impossible) {
                throw new IllegalStateException(impossible);
            }
        }
        return InetSocketAddress.createUnresolved(key.host(), key.port());
    }

    /** Takes back a connection after a clean exchange; {@code h}, its handler, must be detached already. */
    void release(Channel ch, UpstreamHandler h) {
        if (!ch.isActive()) {
            ch.close();
            return;
        }
        ArrayDeque<Channel> channels = idle.computeIfAbsent(h.key(), k -> new ArrayDeque<>());
        if (channels.size() >= connector.maxIdlePerUpstream) {
            ch.close();
            return;
        }
        h.idleSinceNanos = System.nanoTime();
        channels.addLast(ch);
        // An outstanding read lets a close or stray bytes from the upstream be seen while idle.
        ch.read();
        startSweeping();
    }

    void forget(Channel ch, Key key) {
        ArrayDeque<Channel> channels = idle.get(key);
        if (channels != null) {
            channels.remove(ch);
        }
    }

    int idleCount() {
        int n = 0;
        for (ArrayDeque<Channel> d : idle.values()) {
            n += d.size();
        }
        return n;
    }

    void closeAll() {
        if (sweeping != null) {
            sweeping.cancel(false);
            sweeping = null;
        }
        for (ArrayDeque<Channel> d : idle.values()) {
            for (Channel ch : d.toArray(new Channel[0])) {
                ch.close();
            }
        }
        idle.clear();
    }

    private void startSweeping() {
        if (sweeping != null) {
            return;
        }
        long period = Math.max(100, connector.poolIdleMillis / 2);
        sweeping = connector.timer.scheduleAtFixedRate(loop, this::sweep, period, TimeUnit.MILLISECONDS);
    }

    private void sweep() {
        long cutoff = System.nanoTime() - TimeUnit.MILLISECONDS.toNanos(connector.poolIdleMillis);
        for (ArrayDeque<Channel> d : idle.values()) {
            for (Iterator<Channel> it = d.iterator(); it.hasNext(); ) {
                Channel ch = it.next();
                UpstreamHandler h = UpstreamHandler.of(ch);
                if (h == null || h.idleSinceNanos < cutoff) {
                    it.remove();
                    ch.close();
                }
            }
        }
    }
}
