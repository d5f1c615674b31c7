package dev.keyswap.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.ReferenceCountUtil;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import org.junit.jupiter.api.Test;

class UpstreamTlsTest {

    @Test
    void usesBoringSslWithSniAndHostnameVerification() {
        UpstreamTls tls = UpstreamTls.create(null);
        assertEquals(SslProvider.OPENSSL, tls.provider());
        SslHandler handler = tls.newHandler(ByteBufAllocator.DEFAULT, "api.openai.com", 443);
        try {
            SSLParameters params = handler.engine().getSSLParameters();
            assertEquals("HTTPS", params.getEndpointIdentificationAlgorithm());
            assertEquals(List.of(new SNIHostName("api.openai.com")), params.getServerNames());
            assertEquals("api.openai.com", handler.engine().getPeerHost());
            assertEquals(443, handler.engine().getPeerPort());
            assertTrue(handler.engine().getUseClientMode());
        } finally {
            ReferenceCountUtil.release(handler.engine());
        }
    }

    @Test
    void unreadableTrustFileIsAClearError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> UpstreamTls.create("/no/such/ca.pem"));
        assertTrue(e.getMessage().contains("upstream.trust_cert_file"), e.getMessage());
    }
}
