package dev.keyswap.server;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * TLS on Keyswap's own listener: BoringSSL when it loads, ALPN offering only http/1.1 (the
 * official Realtime helpers insist on wss:// whatever base URL they get). The certificate and key
 * are re-read when either file changes, checked at most once a second as connections arrive, so
 * a renewed certificate is served without a restart; a broken renewal keeps the last good one.
 */
public final class InboundTls {
    private static final Logger log = LoggerFactory.getLogger(InboundTls.class);
    private static final long CHECK_INTERVAL_NANOS = 1_000_000_000L;
    private final Path certFile;
    private final Path keyFile;
    private volatile SslContext context;
    private volatile FileTime certTime;
    private volatile FileTime keyTime;
    private volatile long nextCheck;

    /** Loads both files now; a missing or unreadable file is an error naming its key. */
    public InboundTls(Path certFile, Path keyFile) {
        this.certFile = certFile;
        this.keyFile = keyFile;
        try {
            certTime = Files.getLastModifiedTime(certFile);
            keyTime = Files.getLastModifiedTime(keyFile);
        } catch (IOException e) {
            throw new IllegalArgumentException("server.tls: cannot read " + (Files.exists(certFile) ? keyFile : certFile));
        }
        context = build();
        nextCheck = System.nanoTime() + CHECK_INTERVAL_NANOS;
    }

    private SslContext build() {
        try {
            return SslContextBuilder.forServer(certFile.toFile(), keyFile.toFile())
                    .sslProvider(OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK)
                    .applicationProtocolConfig(new ApplicationProtocolConfig(
                            ApplicationProtocolConfig.Protocol.ALPN,
                            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                            ApplicationProtocolNames.HTTP_1_1))
                    .build();
        } catch (Exception e) {
            throw new IllegalArgumentException("server.tls: cannot load the certificate " + certFile + " and key " + keyFile
                    + ": " + e.getMessage());
        }
    }

    /** A handler for a new connection, with the current certificate. */
    public SslHandler newHandler(ByteBufAllocator alloc) {
        long now = System.nanoTime();
        if (now - nextCheck >= 0) {
            nextCheck = now + CHECK_INTERVAL_NANOS;
            reloadIfChanged();
        }
        return context.newHandler(alloc);
    }

    private synchronized void reloadIfChanged() {
        try {
            FileTime c = Files.getLastModifiedTime(certFile);
            FileTime k = Files.getLastModifiedTime(keyFile);
            if (c.equals(certTime) && k.equals(keyTime)) {
                return;
            }
            // Remembered before building, so a broken pair is reported once, not every second.
            certTime = c;
            keyTime = k;
            context = build();
            log.info("server.tls: reloaded certificate {}", certFile);
        } catch (IOException | IllegalArgumentException e) {
            log.warn("server.tls: keeping the current certificate; reload failed: {}", e.getMessage());
        }
    }
}
