package dev.keyswap.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keyswap.server.RawUpstream.Answer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * How a client's request reaches the upstream, byte for byte: the head written anew with the
 * token's fields dropped and the real key added, the body exactly as the client framed it
 * (chunk extensions and trailers too), and requests pipelined on one connection each relayed
 * and answered in turn.
 */
class RequestRelayTest {
    private static final String SERVER_KEY = "sk-test-request-relay";
    private static final String OK = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

    @TempDir
    Path dir;

    private TestKeyswap keyswap(RawUpstream upstream) {
        return TestKeyswap.start(dir, TestKeyswap.providers(TestKeyswap.map("openai", upstream.baseUrl()),
                TestKeyswap.map("openai", SERVER_KEY)));
    }

    @Test
    void aRepeatedContentLengthReachesTheClientOnce() throws Exception {
        try (RawUpstream upstream = new RawUpstream(head -> Answer.keep(
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\ncontent-length: 2\r\n\r\n{}"));
             TestKeyswap keyswap = keyswap(upstream);
             RawHttp client = new RawHttp(keyswap.port())) {
            client.send("GET /openai/v1/models HTTP/1.1\r\nHost: keyswap\r\nAuthorization: Bearer " + keyswap.token() + "\r\n\r\n");
            RawHttp.Response r = client.read(); // repeated fields are joined with ", "
            assertEquals(200, r.status());
            assertEquals("2", r.header("content-length"), "one Content-Length: " + r.headers());
            assertEquals("{}", r.body());
        }
    }

    @Test
    void aSwitchingProtocolsHeadKeepsNothingOfTheUpstreamsHop() throws Exception {
        try (RawUpstream upstream = new RawUpstream(head -> Answer.keep("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                + "Connection: Upgrade, X-Hop\r\nX-Hop: internal\r\nProxy-Authenticate: Basic\r\nTrailer: x\r\n"
                + "Keep-Alive: timeout=5\r\nSet-Cookie: s=1\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                + "X-Kept: yes\r\n\r\n"));
             TestKeyswap keyswap = keyswap(upstream);
             RawHttp client = new RawHttp(keyswap.port())) {
            client.send("GET /openai/v1/realtime HTTP/1.1\r\nHost: keyswap\r\nAuthorization: Bearer " + keyswap.token()
                    + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
            RawHttp.Response r = client.read(); // a 1xx: its head alone
            assertEquals(101, r.status());
            assertEquals("websocket", r.header("upgrade"), r.headers().toString());
            assertEquals("upgrade", r.header("connection").toLowerCase(Locale.ROOT), r.headers().toString());
            assertEquals("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", r.header("sec-websocket-accept"));
            assertEquals("yes", r.header("x-kept"));
            for (String gone : new String[] {"x-hop", "proxy-authenticate", "trailer", "keep-alive", "set-cookie"}) {
                assertNull(r.header(gone), gone + " went on: " + r.headers());
            }
        }
    }

    @Test
    void pipelinedRequestsReachTheUpstreamInTurnWithTheirBodiesAsSent() throws Exception {
        try (RawUpstream upstream = new RawUpstream(head -> Answer.keep(OK));
             TestKeyswap keyswap = keyswap(upstream);
             RawHttp client = new RawHttp(keyswap.port())) {
            String auth = "Authorization: Bearer " + keyswap.token() + "\r\n";
            String chunkedBody = "5;name=value\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n";
            String lengthBody = "{\"model\":\"gpt-4o\"}";
            // Three requests in one write: the reader hands them on one at a time.
            client.send("POST /openai/v1/chat/completions HTTP/1.1\r\nHost: keyswap\r\n" + auth
                    + "Content-Type: application/json\r\nContent-Length: " + lengthBody.length() + "\r\n\r\n" + lengthBody
                    + "POST /openai/v1/uploads HTTP/1.1\r\nHost: keyswap\r\nTransfer-Encoding: chunked\r\n" + auth
                    + "X-Kept:  spaced value \r\n\r\n" + chunkedBody
                    + "GET /openai/v1/models?limit=2 HTTP/1.1\r\nHOST: keyswap\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n"
                    + "Keep-Alive: timeout=5\r\nCookie: session=1\r\nx-api-key: " + keyswap.token() + "\r\n" + auth + "\r\n");
            for (int i = 0; i < 3; i++) {
                RawHttp.Response r = client.read();
                assertEquals(200, r.status(), "request " + i + ": " + r.body());
                assertEquals("ok", r.body());
            }
            assertEquals(1, upstream.connections.get(), "one upstream connection carries all three in turn");
            List<String> got = upstream.received;
            assertEquals(3, got.size(), got.toString());
            String authority = upstream.baseUrl().substring("http://".length());

            assertTrue(got.get(0).startsWith("POST /v1/chat/completions HTTP/1.1\r\n"), got.get(0));
            assertTrue(got.get(0).endsWith("\r\n\r\n" + lengthBody), got.get(0));
            assertTrue(got.get(0).contains("\r\nContent-Type: application/json\r\n"), got.get(0));

            assertTrue(got.get(1).startsWith("POST /v1/uploads HTTP/1.1\r\n"), got.get(1));
            assertTrue(got.get(1).endsWith("\r\n\r\n" + chunkedBody), "chunks, extension and trailer as sent: " + got.get(1));
            assertTrue(got.get(1).matches("(?s).*\r\nX-Kept: +spaced value *\r\n.*"), got.get(1));

            assertTrue(got.get(2).startsWith("GET /v1/models?limit=2 HTTP/1.1\r\n"), got.get(2));
            for (String request : got) {
                String head = request.substring(0, request.indexOf("\r\n\r\n") + 2);
                String lower = head.toLowerCase(Locale.ROOT);
                assertFalse(request.contains(keyswap.token()), "the client's token never reaches the upstream: " + head);
                assertEquals(1, count(lower, "\r\nauthorization: "), head);
                assertTrue(lower.contains("\r\nauthorization: bearer " + SERVER_KEY + "\r\n"), head);
                assertEquals(1, count(lower, "\r\nhost: "), head);
                assertTrue(lower.contains("\r\nhost: " + authority + "\r\n"), head);
                for (String gone : new String[] {"x-api-key", "x-hop", "keep-alive", "cookie", "connection"}) {
                    assertFalse(lower.contains("\r\n" + gone + ":"), gone + " in " + head);
                }
            }
        }
    }

    @Test
    void anHttp10RequestReachesTheUpstreamAsHttp11AndItsAnswerTheClientAs10() throws Exception {
        try (RawUpstream upstream = new RawUpstream(head -> Answer.keep(OK));
             TestKeyswap keyswap = keyswap(upstream);
             RawHttp client = new RawHttp(keyswap.port())) {
            client.send("POST /openai/v1/chat/completions HTTP/1.0\r\nAuthorization: Bearer " + keyswap.token()
                    + "\r\nContent-Length: 2\r\n\r\n{}");
            String all = client.readToClose();
            assertTrue(all.startsWith("HTTP/1.0 200 OK\r\n"), all);
            assertTrue(all.endsWith("\r\n\r\nok"), all);
            String got = upstream.received.get(0);
            assertTrue(got.startsWith("POST /v1/chat/completions HTTP/1.1\r\n"), got);
            assertTrue(got.endsWith("\r\n\r\n{}"), got);
        }
    }

    @Test
    void aConnectionFieldNamingTheFramingCannotTurnABodyIntoARequest() throws Exception {
        // Connection may name fields meant for one hop only; naming Content-Length or
        // Transfer-Encoding there once made Keyswap drop it, so the upstream got a head with no
        // framing and read the body as a request of its own on a pooled connection.
        try (RawUpstream upstream = new RawUpstream(head -> Answer.keep(OK));
             TestKeyswap keyswap = keyswap(upstream);
             RawHttp client = new RawHttp(keyswap.port())) {
            String auth = "Authorization: Bearer " + keyswap.token() + "\r\n";
            String smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
            client.send("POST /openai/v1/files HTTP/1.1\r\nHost: keyswap\r\n" + auth
                    + "Connection: keep-alive, Content-Length\r\nContent-Length: " + smuggled.length() + "\r\n\r\n" + smuggled);
            assertEquals(200, client.read().status());
            String chunks = Integer.toHexString(smuggled.length()) + "\r\n" + smuggled + "\r\n0\r\n\r\n";
            client.send("POST /openai/v1/files HTTP/1.1\r\nHost: keyswap\r\n" + auth
                    + "Connection: Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks);
            assertEquals(200, client.read().status());
            // A request that the smuggled one would have been answered in place of.
            client.send("GET /openai/v1/models HTTP/1.1\r\nHost: keyswap\r\n" + auth + "\r\n");
            assertEquals(200, client.read().status());

            List<String> got = upstream.received;
            assertEquals(3, got.size(), "the upstream read three requests, not a fourth from a body: " + got);
            assertTrue(got.get(0).contains("\r\nContent-Length: " + smuggled.length() + "\r\n"), got.get(0));
            assertTrue(got.get(0).endsWith("\r\n\r\n" + smuggled), got.get(0));
            assertTrue(got.get(1).toLowerCase(Locale.ROOT).contains("\r\ntransfer-encoding: chunked\r\n"), got.get(1));
            assertTrue(got.get(1).endsWith("\r\n\r\n" + chunks), got.get(1));
            assertTrue(got.get(2).startsWith("GET /v1/models HTTP/1.1\r\n"), got.get(2));
            assertFalse(got.stream().anyMatch(r -> r.startsWith("GET /smuggled")), got.toString());
        }
    }

    @Test
    void aChunkedBodyThatGrowsPastTheLimitIsAnswered413AndTheUpstreamGetsNoWholeRequest() throws Exception {
        try (RawUpstream upstream = new RawUpstream(head -> Answer.keep(OK));
             TestKeyswap keyswap = TestKeyswap.start(dir, TestKeyswap.providers(TestKeyswap.map("openai", upstream.baseUrl()),
                     TestKeyswap.map("openai", SERVER_KEY)) + "server:\n  max_body_bytes: 16\n")) {
            String auth = "Authorization: Bearer " + keyswap.token() + "\r\n";
            try (RawHttp client = new RawHttp(keyswap.port())) {
                // A Content-Length over the limit is refused with its head; chunks are counted as they come.
                client.send("POST /openai/v1/files HTTP/1.1\r\nHost: keyswap\r\n" + auth + "Transfer-Encoding: chunked\r\n\r\n"
                        + "a\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n");
                String all = client.readToClose();
                assertTrue(all.startsWith("HTTP/1.1 413 "), all);
                assertTrue(all.contains("\"code\":\"body_too_large\""), all);
                assertTrue(all.toLowerCase(Locale.ROOT).contains("\r\nconnection: close\r\n"), all);
                assertFalse(all.contains(keyswap.token()), all);
            }
            try (RawHttp client = new RawHttp(keyswap.port())) {
                client.send("GET /openai/v1/models HTTP/1.1\r\nHost: keyswap\r\n" + auth + "\r\n");
                assertEquals(200, client.read().status());
            }
            // The upstream read one whole request, the GET: the cut-off upload never ended there,
            // and no connection that carried part of it was used again.
            assertEquals(1, upstream.received.size(), upstream.received.toString());
            assertTrue(upstream.received.get(0).startsWith("GET /v1/models "), upstream.received.get(0));
        }
    }

    /**
     * A client that writes its whole body before it reads, as most SDKs do, must get the 413 and
     * not a reset: Keyswap answers at the head, then reads and drops the rest (a lingering close).
     * Closed at once, the unread body in the socket made the kernel reset the connection, and the
     * client's writes failed with the answer unread.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"content-length", "chunked"})
    void aClientStillSendingAnOversizedBodyGetsThe413(String framing) throws Exception {
        try (RawUpstream upstream = new RawUpstream(head -> Answer.keep(OK));
             TestKeyswap keyswap = TestKeyswap.start(dir, TestKeyswap.providers(TestKeyswap.map("openai", upstream.baseUrl()),
                     TestKeyswap.map("openai", SERVER_KEY)) + "server:\n  max_body_bytes: 1024\n");
             Socket client = new Socket(InetAddress.getLoopbackAddress(), keyswap.port())) {
            String answer = postOversizedThenRead(client, keyswap.token(), framing.equals("chunked"));
            assertTrue(answer.startsWith("HTTP/1.1 413 "), answer);
            assertTrue(answer.contains("\"code\":\"body_too_large\""), answer);
            assertFalse(answer.contains(keyswap.token()), answer);
            assertTrue(upstream.received.isEmpty(), "no whole request reached the upstream: " + upstream.received);
        }
    }

    /** Writes a POST with an 8 MiB body, all of it, and only then reads; returns all that was read until the close. */
    static String postOversizedThenRead(Socket client, String token, boolean chunked) throws IOException {
        client.setSoTimeout(30_000);
        int bodyBytes = 8 << 20;
        OutputStream out = client.getOutputStream();
        out.write(("POST /openai/v1/files HTTP/1.1\r\nHost: keyswap\r\nAuthorization: Bearer " + token + "\r\n"
                + (chunked ? "Transfer-Encoding: chunked" : "Content-Length: " + bodyBytes) + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        byte[] piece = new byte[64 << 10];
        for (int sent = 0; sent < bodyBytes; sent += piece.length) {
            if (chunked) {
                out.write((Integer.toHexString(piece.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
            }
            out.write(piece);
            if (chunked) {
                out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
            }
        }
        if (chunked) {
            out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        out.flush();
        return new String(client.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
    }

    private static int count(String s, String part) {
        int n = 0;
        for (int i = s.indexOf(part); i >= 0; i = s.indexOf(part, i + 1)) {
            n++;
        }
        return n;
    }
}
