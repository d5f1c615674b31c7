package dev.keyswap.upstream;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import java.io.File;
import javax.net.ssl.SSLException;

/**
 * The client TLS profile for upstreams: one SslContext, BoringSSL (netty-tcnative) when it loads,
 * else the JDK. Handlers are made with host and port so SNI is sent and sessions resume;
 * hostname verification is switched on explicitly rather than trusted to a default.
 */
public final class UpstreamTls {
    private final SslContext context;
    private final SslProvider provider;

    private UpstreamTls(SslContext context, SslProvider provider) {
        this.context = context;
        this.provider = provider;
    }

    /** @param trustCertFile PEM bundle of CAs to trust instead of the JDK's, or null */
    public static UpstreamTls create(String trustCertFile) {
        SslProvider provider = OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
        try {
            SslContextBuilder builder = SslContextBuilder.forClient()
                    .sslProvider(provider)
                    .endpointIdentificationAlgorithm("HTTPS")
                    .applicationProtocolConfig(new ApplicationProtocolConfig(
                            ApplicationProtocolConfig.Protocol.ALPN,
                            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                            ApplicationProtocolNames.HTTP_1_1));
            if (trustCertFile != null && !trustCertFile.isBlank()) {
                File file = new File(trustCertFile);
                if (!file.canRead()) {
                    throw new IllegalArgumentException("upstream.trust_cert_file '" + trustCertFile + "' cannot be read");
                }
                builder.trustManager(file);
            }
            return new UpstreamTls(builder.build(), provider);
        } catch (SSLException | RuntimeException e) {
            if (e instanceof IllegalArgumentException) {
                throw (IllegalArgumentException) e;
            }
            throw new IllegalArgumentException("cannot build the upstream TLS context: " + e.getMessage(), e);
        }
    }

    public SslHandler newHandler(ByteBufAllocator alloc, String host, int port) {
        return context.newHandler(alloc, host, port);
    }

    public SslProvider provider() {
        return provider;
    }
}
