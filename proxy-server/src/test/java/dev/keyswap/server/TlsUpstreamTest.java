package dev.keyswap.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.ssl.SniHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Promise;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** HTTPS upstreams: trust from config, BoringSSL and hostname verification, end to end. */
class TlsUpstreamTest {
    @TempDir
    Path dir;
    TestCertificates cert;
    NettyUpstream upstream;
    final AtomicReference<String> sni = new AtomicReference<>();
    final AtomicReference<String> authorization = new AtomicReference<>();
    final HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void start() throws Exception {
        cert = TestCertificates.selfSigned("localhost");
        SslContext server = SslContextBuilder.forServer(cert.key(), cert.certificate()).sslProvider(SslProvider.JDK).build();
        upstream = new NettyUpstream(() -> new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof HttpRequest r) {
                    authorization.set(r.headers().get(HttpHeaderNames.AUTHORIZATION));
                }
                boolean last = msg instanceof LastHttpContent;
                ReferenceCountUtil.release(msg);
                if (last) {
                    var response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                            Unpooled.copiedBuffer("{\"tls\":true}", StandardCharsets.US_ASCII));
                    response.headers().set(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
                    ctx.writeAndFlush(response);
                }
            }
        }, () -> new SniHandler((String hostname, Promise<SslContext> promise) -> {
            sni.set(hostname);
            return promise.setSuccess(server);
        }));
    }

    @AfterEach
    void stop() {
        upstream.close();
    }

    private HttpResponse<String> call(TestKeyswap keyswap) throws Exception {
        return http.send(java.net.http.HttpRequest.newBuilder(URI.create(keyswap.baseUrl() + "/openai/v1/chat/completions"))
                .header("Authorization", "Bearer " + keyswap.token()).POST(BodyPublishers.ofString("{}")).build(),
                BodyHandlers.ofString());
    }

    private TestKeyswap keyswap(String host, boolean trust) throws Exception {
        String trustYaml = trust ? "upstream:\n  trust_cert_file: " + cert.writeCertificatePem(dir.resolve("upstream-ca.pem")) + "\n" : "";
        return TestKeyswap.start(dir, TestKeyswap.providers(TestKeyswap.map("openai", "https://" + host + ":" + upstream.port()),
                TestKeyswap.map("openai", "sk-test-tls")) + trustYaml);
    }

    @Test
    void trustedSelfSignedUpstreamIsReachedOverBoringSslWithSni() throws Exception {
        try (TestKeyswap keyswap = keyswap("localhost", true)) {
            assertEquals(SslProvider.OPENSSL, keyswap.keyswap.proxy().connector().tls().provider(),
                    "netty-tcnative BoringSSL must be in use");
            HttpResponse<String> r = call(keyswap);
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("{\"tls\":true}", r.body());
            // SNI itself is checked in UpstreamTlsTest: TLS stacks send none for a dotless name like localhost.
            assertEquals("Bearer sk-test-tls", authorization.get());
        }
    }

    @Test
    void untrustedCertificateIs502() throws Exception {
        try (TestKeyswap keyswap = keyswap("localhost", false)) {
            HttpResponse<String> r = call(keyswap);
            assertEquals(502, r.statusCode(), r.body());
            assertTrue(r.body().contains("\"code\":\"upstream_tls_error\""), r.body());
            assertEquals(null, authorization.get(), "nothing may be sent to an unverified upstream");
        }
    }

    @Test
    void certificateForAnotherNameIs502() throws Exception {
        // The certificate names only "localhost": reaching the same server as 127.0.0.1 must fail verification.
        try (TestKeyswap keyswap = keyswap("127.0.0.1", true)) {
            HttpResponse<String> r = call(keyswap);
            assertEquals(502, r.statusCode(), r.body());
            assertTrue(r.body().contains("\"code\":\"upstream_tls_error\""), r.body());
            assertEquals(null, authorization.get());
        }
    }
}
