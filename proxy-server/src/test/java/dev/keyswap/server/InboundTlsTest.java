package dev.keyswap.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.WebSocket;
import okhttp3.internal.ws.RealWebSocket;
import okhttp3.mockwebserver.MockResponse;
import okhttp3.mockwebserver.MockWebServer;
import okhttp3.mockwebserver.RecordedRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** TLS on Keyswap's own listener (wss:// for the Realtime helpers), certificate reload, socket caps, pings. */
class InboundTlsTest {
    @TempDir
    Path dir;

    static SSLContext trusting(X509Certificate cert) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, new javax.net.ssl.TrustManager[] {trustManager(cert)}, null);
        return ctx;
    }

    static X509TrustManager trustManager(X509Certificate cert) throws Exception {
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        ks.setCertificateEntry("keyswap", cert);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        return (X509TrustManager) tmf.getTrustManagers()[0];
    }

    private String tlsYaml(TestCertificates cert, String extra) throws Exception {
        return """
                server:
                  tls:
                    cert_file: %s
                    key_file: %s
                """.formatted(cert.writeCertificatePem(dir.resolve("server.pem")), cert.writeKeyPem(dir.resolve("server.key"))) + extra;
    }

    @Test
    void aClientStillSendingAnOversizedBodyOverTlsGetsThe413() throws Exception {
        // The lingering close over TLS: close_notify after the answer, then the rest read and dropped.
        TestCertificates cert = TestCertificates.selfSigned("127.0.0.1");
        try (MockWebServer upstream = new MockWebServer()) {
            upstream.start();
            try (TestKeyswap keyswap = TestKeyswap.start(dir, TestKeyswap.merge(tlsYaml(cert, "  max_body_bytes: 1024\n"),
                    TestKeyswap.providers(TestKeyswap.map("openai", upstream.url("/").toString()), TestKeyswap.map("openai", "sk-x"))));
                 java.net.Socket client = trusting(cert.certificate()).getSocketFactory().createSocket("127.0.0.1", keyswap.port())) {
                String answer = RequestRelayTest.postOversizedThenRead(client, keyswap.token(), false);
                assertTrue(answer.startsWith("HTTP/1.1 413 "), answer);
                assertEquals(0, upstream.getRequestCount());
            }
        }
    }

    @Test
    void httpsClientsAreServedAndUpstreamSeesForwardedProtoHttps() throws Exception {
        TestCertificates cert = TestCertificates.selfSigned("127.0.0.1");
        try (MockWebServer upstream = new MockWebServer()) {
            upstream.enqueue(new MockResponse().setBody("{\"ok\":1}"));
            upstream.start();
            try (TestKeyswap keyswap = TestKeyswap.start(dir, TestKeyswap.merge(tlsYaml(cert, ""),
                    TestKeyswap.providers(TestKeyswap.map("openai", "http://127.0.0.1:" + upstream.getPort()), TestKeyswap.map("openai", "sk-test"))))) {
                HttpClient http = HttpClient.newBuilder().sslContext(trusting(cert.certificate())).build();
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + keyswap.port() + "/openai/v1/models"))
                        .header("Authorization", "Bearer " + keyswap.token()).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(200, r.statusCode());
                RecordedRequest recorded = upstream.takeRequest(5, TimeUnit.SECONDS);
                assertEquals("https", recorded.getHeader("X-Forwarded-Proto"));
            }
        }
    }

    @Test
    void wssRealtimeSocketWorksWithOnlyAToken() throws Exception {
        TestCertificates cert = TestCertificates.selfSigned("127.0.0.1");
        try (WebSocketUpstream upstream = new WebSocketUpstream();
             TestKeyswap keyswap = TestKeyswap.start(dir, TestKeyswap.merge(tlsYaml(cert, ""),
                     TestKeyswap.providers(TestKeyswap.map("openai", upstream.baseUrl()), TestKeyswap.map("openai", "sk-test-wss"))))) {
            OkHttpClient client = new OkHttpClient.Builder()
                    .sslSocketFactory(trusting(cert.certificate()).getSocketFactory(), trustManager(cert.certificate()))
                    .pingInterval(100, TimeUnit.MILLISECONDS)
                    .build();
            WebSocketTest.Events events = new WebSocketTest.Events();
            WebSocket ws = client.newWebSocket(new Request.Builder().url("wss://127.0.0.1:" + keyswap.port() + "/openai/v1/realtime?model=gpt-realtime")
                    .header("Sec-WebSocket-Protocol", "realtime, openai-insecure-api-key." + keyswap.token()).build(), events);
            assertEquals(101, events.opened.get(10, TimeUnit.SECONDS).code());
            ws.send("{\"type\":\"response.create\"}");
            assertEquals("{\"type\":\"response.create\"}", events.next());
            // OkHttp fails the socket when a ping goes unanswered: pongs must come back through the splice.
            Thread.sleep(600);
            assertTrue(((RealWebSocket) ws).receivedPongCount() >= 3, "pongs: " + ((RealWebSocket) ws).receivedPongCount());
            assertTrue(events.failed.getNow(null) == null && !events.failed.isDone());
            ws.close(1000, null);
            client.dispatcher().executorService().shutdown();
        }
    }

    @Test
    void renewedCertificateIsServedWithoutRestart() throws Exception {
        TestCertificates first = TestCertificates.selfSigned("127.0.0.1");
        TestCertificates second = TestCertificates.selfSigned("127.0.0.1");
        try (TestKeyswap keyswap = TestKeyswap.start(dir, tlsYaml(first, ""))) {
            assertEquals(first.certificate(), servedCertificate(keyswap.port()));
            Path certFile = dir.resolve("server.pem");
            Path keyFile = dir.resolve("server.key");
            Path tmpCert = second.writeCertificatePem(dir.resolve("new.pem"));
            Path tmpKey = second.writeKeyPem(dir.resolve("new.key"));
            Files.move(tmpKey, keyFile, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            Files.move(tmpCert, certFile, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            Files.setLastModifiedTime(certFile, FileTime.from(Instant.now().plusSeconds(5)));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            X509Certificate served;
            do {
                Thread.sleep(200);
                served = servedCertificate(keyswap.port());
            } while (!served.equals(second.certificate()) && System.nanoTime() < deadline);
            assertEquals(second.certificate(), served);
        }
    }

    /** The certificate the listener presents, whatever it is. */
    private static X509Certificate servedCertificate(int port) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, new javax.net.ssl.TrustManager[] {new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        }}, null);
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port)) {
            s.startHandshake();
            return (X509Certificate) s.getSession().getPeerCertificates()[0];
        }
    }

    @Test
    void aTokenMayHoldOnlyItsCapOfOpenSockets() throws Exception {
        try (WebSocketUpstream upstream = new WebSocketUpstream();
             TestKeyswap keyswap = TestKeyswap.start(dir, TestKeyswap.merge("websocket:\n  max_per_token: 2\n",
                     TestKeyswap.providers(TestKeyswap.map("openai", upstream.baseUrl()), TestKeyswap.map("openai", "sk-test-cap"))))) {
            OkHttpClient client = new OkHttpClient();
            String token = keyswap.token();
            Request request = new Request.Builder().url("ws://127.0.0.1:" + keyswap.port() + "/openai/v1/realtime")
                    .header("Authorization", "Bearer " + token).build();
            WebSocketTest.Events a = new WebSocketTest.Events();
            WebSocketTest.Events b = new WebSocketTest.Events();
            WebSocketTest.Events c = new WebSocketTest.Events();
            WebSocket wa = client.newWebSocket(request, a);
            client.newWebSocket(request, b);
            a.opened.get(10, TimeUnit.SECONDS);
            b.opened.get(10, TimeUnit.SECONDS);
            client.newWebSocket(request, c);
            assertEquals(429, c.failed.get(10, TimeUnit.SECONDS).code());
            assertEquals(2, upstream.handshakes.size(), "the refused socket never reached the upstream");
            wa.close(1000, null);
            a.closing.get(10, TimeUnit.SECONDS);
            WebSocketTest.Events d = new WebSocketTest.Events();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            int status;
            do {
                d = new WebSocketTest.Events();
                client.newWebSocket(request, d);
                status = d.opened.handle((r, t) -> r == null ? -1 : r.code()).get(10, TimeUnit.SECONDS);
                if (status != 101) {
                    Thread.sleep(50);
                }
            } while (status != 101 && System.nanoTime() < deadline);
            assertEquals(101, status, "a closed socket gives its slot back");
            client.dispatcher().executorService().shutdown();
        }
    }
}
