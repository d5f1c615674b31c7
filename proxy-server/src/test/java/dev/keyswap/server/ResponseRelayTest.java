package dev.keyswap.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.keyswap.server.RawUpstream.Answer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.WebSocket;
import okhttp3.WebSocketListener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How an upstream's response reaches the client, byte for byte: framing kept where it serves the
 * client and redone where it cannot, heads rewritten, and every response that cannot be relayed
 * safely refused — with what it does to both connections.
 */
class ResponseRelayTest {
    @TempDir
    Path dir;

    private TestKeyswap keyswap(RawUpstream upstream) {
        return TestKeyswap.start(dir, TestKeyswap.providers(TestKeyswap.map("openai", upstream.baseUrl()),
                TestKeyswap.map("openai", "sk-test-relay")));
    }

    private static String post(TestKeyswap keyswap, String version) {
        return "POST /openai/v1/chat/completions " + version + "\r\nHost: x\r\nAuthorization: Bearer " + keyswap.token()
                + "\r\nContent-Length: 2\r\n\r\n{}";
    }

    /** Posts {@code times} requests one after another on {@code client}; each must get {@code status} and {@code body}. */
    private static List<RawHttp.Response> postInTurn(TestKeyswap keyswap, RawHttp client, int times, int status,
                                                               String body) throws IOException {
        List<RawHttp.Response> responses = new ArrayList<>();
        String request = post(keyswap, "HTTP/1.1");
        for (int i = 0; i < times; i++) {
            client.send(request);
            RawHttp.Response r = client.read();
            assertEquals(status, r.status(), "request " + i + ": " + r.body());
            if (body != null) {
                assertEquals(body, r.body(), "request " + i);
            }
            responses.add(r);
        }
        return responses;
    }

    private static String get(TestKeyswap keyswap, String method) {
        return method + " /openai/v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + keyswap.token() + "\r\n\r\n";
    }

    private static final String CHUNKED = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";

    @Test
    void chunksPassToAnHttp11ClientAsTheUpstreamSentThem() throws Exception {
        try (RawUpstream upstream = new RawUpstream(head -> Answer.keep(CHUNKED));
             TestKeyswap keyswap = keyswap(upstream); RawHttp client = new RawHttp(keyswap.port())) {
            for (RawHttp.Response r : postInTurn(keyswap, client, 2, 200, "hello world")) {
                assertEquals("chunked", r.header("transfer-encoding"));
                assertEquals(2, r.chunks(), "the upstream's two chunks");
            }
            assertEquals(1, upstream.connections.get(), "the upstream connection is reused");
        }
    }

    @Test
    void anHttp10ClientGetsAChunkedBodyAsDataUntilTheClose() throws Exception {
        try (RawUpstream upstream = new RawUpstream(head -> Answer.keep(CHUNKED));
             TestKeyswap keyswap = keyswap(upstream); RawHttp client = new RawHttp(keyswap.port())) {
            client.send(post(keyswap, "HTTP/1.0"));
            String all = client.readToClose();
            assertTrue(all.startsWith("HTTP/1.0 200 OK\r\n"), all);
            assertTrue(all.endsWith("\r\n\r\nhello world"), all);
            assertFalse(all.toLowerCase().contains("transfer-encoding"), all);
            assertTrue(all.toLowerCase().contains("connection: close\r\n"), all);
        }
    }

    @Test
    void aBodyEndedByTheUpstreamsCloseReachesAnHttp11ClientInChunks() throws Exception {
        try (RawUpstream upstream = new RawUpstream(head -> Answer.thenClose(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the close"));
             TestKeyswap keyswap = keyswap(upstream); RawHttp client = new RawHttp(keyswap.port())) {
            for (RawHttp.Response r : postInTurn(keyswap, client, 2, 200, "until the close")) {
                assertEquals("chunked", r.header("transfer-encoding"));
            }
            assertEquals(2, upstream.connections.get(), "a connection whose body ended at its close is not reused");
        }
    }

    @Test
    void theHeadLosesHopByHopFieldsAndCookiesAndGetsKeyswapsOwn() throws Exception {
        try (RawUpstream upstream = new RawUpstream(head -> Answer.keep("HTTP/1.1 201 Made Here\r\n"
                + "Connection: X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nSet-Cookie: session=1\r\n"
                + "X-Request-Id: theirs\r\nX-Kept:  spaced value \r\nContent-Length: 2\r\n\r\nok"));
             TestKeyswap keyswap = keyswap(upstream); RawHttp client = new RawHttp(keyswap.port())) {
            RawHttp.Response r = postInTurn(keyswap, client, 1, 201, "ok").get(0);
            assertEquals("spaced value", r.header("x-kept"));
            assertTrue(r.header("x-request-id").startsWith("req_"), r.headers().toString());
            assertTrue(r.header("x-proxy-duration-ms").matches("\\d+\\.\\d{3}"), r.headers().toString());
            for (String gone : new String[] {"x-hop", "keep-alive", "set-cookie", "connection"}) {
                assertNull(r.header(gone), gone + " in " + r.headers());
            }
        }
    }

    @Test
    void headRequestsGetHeadsOnlyAndTheConnectionGoesOn() throws Exception {
        Function<String, Answer> script = head -> head.startsWith("HEAD ")
                ? Answer.keep("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n")
                : Answer.keep("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello");
        try (RawUpstream upstream = new RawUpstream(script);
             TestKeyswap keyswap = keyswap(upstream); RawHttp client = new RawHttp(keyswap.port())) {
            client.send(get(keyswap, "HEAD"));
            RawHttp.Response head = client.readHeadResponse();
            assertEquals(200, head.status());
            assertEquals("5", head.header("content-length"));
            // Keyswap's own answers to HEAD: an error and /healthz, each with its length and no body.
            client.send("HEAD /openai/v1/models HTTP/1.1\r\nHost: x\r\n\r\n");
            RawHttp.Response refused = client.readHeadResponse();
            assertEquals(401, refused.status());
            assertTrue(Integer.parseInt(refused.header("content-length")) > 0);
            client.send("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
            assertEquals(200, client.readHeadResponse().status());
            // Had any of them sent a body, it would be read here as the next response's start.
            client.send(get(keyswap, "GET"));
            RawHttp.Response r = client.read();
            assertEquals(200, r.status());
            assertEquals("hello", r.body());
        }
    }

    @Test
    void hundredsOfRequestsOnOneConnection() throws Exception {
        try (RawUpstream upstream = new RawUpstream(head -> Answer.keep("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
             TestKeyswap keyswap = keyswap(upstream); RawHttp client = new RawHttp(keyswap.port())) {
            postInTurn(keyswap, client, 300, 200, "ok");
            assertEquals(1, upstream.connections.get());
        }
    }

    @Test
    void informationalResponsesFromTheUpstreamAreNotRelayed() throws Exception {
        try (RawUpstream upstream = new RawUpstream(head -> Answer.keep(
                "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
             TestKeyswap keyswap = keyswap(upstream); RawHttp client = new RawHttp(keyswap.port())) {
            postInTurn(keyswap, client, 2, 200, "ok");
        }
    }

    @Test
    void ambiguousFramingIs502AndThatConnectionIsNotReused() throws Exception {
        try (RawUpstream upstream = new RawUpstream(head -> Answer.keep(
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"));
             TestKeyswap keyswap = keyswap(upstream); RawHttp client = new RawHttp(keyswap.port())) {
            for (RawHttp.Response r : postInTurn(keyswap, client, 2, 502, null)) {
                assertTrue(r.body().contains("\"upstream_bad_response\""), r.body());
                assertTrue(r.body().contains("Content-Length and Transfer-Encoding"), r.body());
            }
            assertEquals(2, upstream.connections.get());
        }
    }

    @Test
    void aBrokenChunkAfterTheHeadClosesTheClientConnection() throws Exception {
        try (RawUpstream upstream = new RawUpstream(head -> Answer.keep(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX\r\n0\r\n\r\n"));
             TestKeyswap keyswap = keyswap(upstream); RawHttp client = new RawHttp(keyswap.port())) {
            client.send(post(keyswap, "HTTP/1.1"));
            String all = client.readToClose();
            assertTrue(all.startsWith("HTTP/1.1 200 OK\r\n"), all);
            String body = all.substring(all.indexOf("\r\n\r\n") + 4);
            assertFalse(body.endsWith("0\r\n\r\n"), "the body never ends well: " + all);
        }
    }

    /**
     * An upstream may answer before it has the whole body (a 413 to an upload, say): the client
     * gets that answer whole, then both connections close, since the rest of the body can be
     * neither relayed nor skipped safely.
     */
    @Test
    void anAnswerBeforeTheWholeBodyReachesTheClientThenBothConnectionsClose() throws Exception {
        try (RawUpstream upstream = new RawUpstream(head -> Answer.keep(
                "HTTP/1.1 413 Payload Too Large\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\ntoo large"), false);
             TestKeyswap keyswap = keyswap(upstream); RawHttp client = new RawHttp(keyswap.port())) {
            // A chunked body, of which only the first chunk is sent: the upstream answers at once.
            client.send("POST /openai/v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + keyswap.token()
                    + "\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n");
            RawHttp.Response r = client.read();
            assertEquals(413, r.status());
            assertEquals("too large", r.body());
            assertTrue(client.closedByServer(), "the client connection closes after the answer");
            try (RawHttp next = new RawHttp(keyswap.port())) {
                next.send(post(keyswap, "HTTP/1.1"));
                assertEquals(413, next.read().status());
            }
            assertEquals(2, upstream.connections.get(), "the first upstream connection was not reused");
        }
    }

    @Test
    void bytesBehindAResponseKeepThatConnectionFromThePool() throws Exception {
        try (RawUpstream upstream = new RawUpstream(head -> Answer.keep("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA"));
             TestKeyswap keyswap = keyswap(upstream); RawHttp client = new RawHttp(keyswap.port())) {
            postInTurn(keyswap, client, 2, 200, "ok");
            assertEquals(2, upstream.connections.get());
        }
    }

    /**
     * Responses of every framing, in random order and piece sizes, one after another through one
     * client connection and the upstream connections Keyswap pools: each body arrives intact,
     * framed for the client, and the connections stay in step.
     */
    @Test
    void randomResponsesOfEveryFramingInTurnOnOneConnection() throws Exception {
        SplittableRandom random = new SplittableRandom(20261123);
        List<String> bodies = new ArrayList<>();
        List<Answer> answers = new ArrayList<>();
        for (int i = 0; i < 150; i++) {
            StringBuilder body = new StringBuilder();
            for (int n = random.nextInt(0, 3000); n > 0; n--) {
                body.append((char) random.nextInt(0x20, 0x7f));
            }
            String b = body.toString();
            String head = "HTTP/1.1 200 OK\r\nX-Kept: " + i + "\r\n";
            switch (random.nextInt(3)) {
                case 0 -> answers.add(Answer.keep(head + "Content-Length: " + b.length() + "\r\n\r\n" + b));
                case 1 -> {
                    StringBuilder chunked = new StringBuilder(head).append("Transfer-Encoding: chunked\r\n\r\n");
                    for (int at = 0; at < b.length(); ) {
                        int n = Math.min(b.length() - at, random.nextInt(1, 700));
                        chunked.append(Integer.toHexString(n)).append(random.nextInt(5) == 0 ? ";x=y" : "").append("\r\n")
                                .append(b, at, at + n).append("\r\n");
                        at += n;
                    }
                    chunked.append("0\r\n").append(random.nextBoolean() ? "X-Trailer: t\r\n" : "").append("\r\n");
                    answers.add(Answer.keep(chunked.toString()));
                }
                default -> answers.add(Answer.thenClose(head + "\r\n" + b));
            }
            bodies.add(b);
        }
        AtomicInteger next = new AtomicInteger();
        try (RawUpstream upstream = new RawUpstream(head -> answers.get(next.getAndIncrement()));
             TestKeyswap keyswap = keyswap(upstream); RawHttp client = new RawHttp(keyswap.port())) {
            String request = post(keyswap, "HTTP/1.1");
            for (int i = 0; i < answers.size(); i++) {
                client.send(request);
                RawHttp.Response r = client.read();
                assertEquals(200, r.status(), "response " + i);
                assertEquals(String.valueOf(i), r.header("x-kept"), "response " + i + " is the " + i + "th");
                assertEquals(bodies.get(i), r.body(), "response " + i);
            }
            assertEquals(answers.size(), upstream.requests.get());
        }
    }

    @Test
    void framesRightBehindTheUpstreams101ReachTheClient() throws Exception {
        try (RawUpstream upstream = new RawUpstream(head -> {
            String key = head.lines().filter(l -> l.toLowerCase().startsWith("sec-websocket-key:"))
                    .map(l -> l.substring(18).trim()).findFirst().orElseThrow();
            // The 101 and a first text frame ("hello", unmasked as a server's) in one write.
            return Answer.keep("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Accept: " + accept(key) + "\r\n\r\n" + "\201\005hello");
        }); TestKeyswap keyswap = keyswap(upstream)) {
            OkHttpClient client = new OkHttpClient.Builder().readTimeout(10, TimeUnit.SECONDS).build();
            CompletableFuture<String> first = new CompletableFuture<>();
            WebSocket ws = client.newWebSocket(new Request.Builder().url("ws://127.0.0.1:" + keyswap.port() + "/openai/v1/realtime")
                    .header("Authorization", "Bearer " + keyswap.token()).build(), new WebSocketListener() {
                        @Override
                        public void onMessage(WebSocket socket, String text) {
                            first.complete(text);
                        }

                        @Override
                        public void onFailure(WebSocket socket, Throwable t, Response response) {
                            first.completeExceptionally(t);
                        }
                    });
            assertEquals("hello", first.get(10, TimeUnit.SECONDS));
            ws.cancel();
            client.dispatcher().executorService().shutdown();
            client.connectionPool().evictAll();
        }
    }

    private static String accept(String key) {
        try {
            byte[] sha1 = MessageDigest.getInstance("SHA-1")
                    .digest((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").getBytes(StandardCharsets.US_ASCII));
            return Base64.getEncoder().encodeToString(sha1);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
