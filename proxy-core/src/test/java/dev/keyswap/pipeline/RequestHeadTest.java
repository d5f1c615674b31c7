package dev.keyswap.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.handler.codec.http.HttpMethod;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The request head as bytes: reading fields by name, the key swap's drops and additions, and the upstream's head. */
class RequestHeadTest {

    private static String upstream(RequestHead h) {
        ByteBuf out = h.writeUpstream(new UnpooledByteBufAllocator(false), 0);
        try {
            return out.toString(StandardCharsets.ISO_8859_1);
        } finally {
            out.release();
        }
    }

    @Test
    void fieldsAreFoundByNameInAnyCaseAndInOrder() {
        RequestHead h = RequestHead.of("GET /x HTTP/1.1\r\nHost: a\r\nX-Tag: one\r\nx-tag:two  \r\nAccept: */*\r\n\r\n");
        assertEquals("one", h.get("x-tag"));
        assertEquals(List.of("one", "two"), h.getAll("X-TAG"));
        assertTrue(h.contains("accept"));
        assertNull(h.get("x-ta"));
        h.remove("x-tag");
        assertNull(h.get("x-tag"));
        h.add("X-Tag", "three");
        h.set("x-tag", "four");
        assertEquals(List.of("four"), h.getAll("x-tag"), "set replaces what was added before it too");
    }

    @Test
    void methodsAreCaseSensitiveAndKnownOnesAreNettysOwn() {
        assertSame(HttpMethod.POST, RequestHead.of("POST /x HTTP/1.1\r\nHost: a\r\n\r\n").method);
        HttpMethod lower = RequestHead.of("post /x HTTP/1.1\r\nHost: a\r\n\r\n").method;
        assertNotSame(HttpMethod.POST, lower);
        assertEquals("post", lower.name());
        assertEquals("PROPFIND", RequestHead.of("PROPFIND /x HTTP/1.1\r\nHost: a\r\n\r\n").method.name());
    }

    @Test
    void theUpstreamGetsNoHopByHopFieldNoTokenSlotNoCookieAndTheFieldsAddedLast() {
        RequestHead h = RequestHead.of("POST /openai/v1/x HTTP/1.0\r\n"
                + "Host: keyswap\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: 5\r\nTE: trailers\r\n"
                + "Proxy-Authorization: Basic eDp5\r\nUpgrade: h2c\r\nAuthorization: Bearer ks_secret\r\nx-api-key: ks_secret\r\n"
                + "X-Goog-Api-Key: ks_secret\r\napi-key: ks_secret\r\nx-partial-key-id: pk_1\r\nx-partial-key: part\r\n"
                + "Expect: 100-continue\r\nCookie: a=b\r\nContent-Length: 2\r\nX-Kept:   yes  \r\n\r\n");
        assertTrue(h.keepAlive(), "an HTTP/1.0 client asked for keep-alive");
        h.dropForUpstream();
        h.add("host", "api.example.com");
        h.add("authorization", "Bearer sk-upstream");
        h.upstreamTarget("/v1/x?a=1");
        assertEquals("POST /v1/x?a=1 HTTP/1.1\r\nContent-Length: 2\r\nX-Kept:   yes\r\nhost: api.example.com\r\n"
                + "authorization: Bearer sk-upstream\r\n\r\n", upstream(h));
    }

    @Test
    void aConnectionFieldCannotDropTheFramingTheBodyWasReadBy() {
        RequestHead h = RequestHead.of("POST /x HTTP/1.1\r\nHost: a\r\nConnection: Content-Length, X-Hop\r\n"
                + "X-Hop: 1\r\nContent-Length: 2\r\n\r\n");
        h.dropForUpstream();
        h.upstreamTarget("/x");
        assertEquals("POST /x HTTP/1.1\r\nContent-Length: 2\r\n\r\n", upstream(h));
    }

    @Test
    void anAddedFieldCannotSplitTheHead() {
        RequestHead h = RequestHead.of("GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
        assertThrows(IllegalArgumentException.class, () -> h.add("x-a", "one\r\nInjected: yes"));
        assertThrows(IllegalArgumentException.class, () -> h.add("x a", "v"));
        assertThrows(IllegalArgumentException.class, () -> h.add("x-a", "\u0100"));
        assertFalse(upstream(h).contains("Injected"));
    }

    @Test
    void malformedHeadsAreNamedNotRead() {
        for (String bad : new String[] {
            "GET /x HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
            "GET /x HTTP/1.1\r\nHost : a\r\n\r\n",
            "GET /x HTTP/1.1\r\nHo\u0001st: a\r\n\r\n",
            "GET /x HTTP/1.1\r\nHost: a\rb\r\n\r\n",
            "GET /x HTTP/1.1\r\nHost: a\u0000\r\n\r\n",
            "GET  /x HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET /x\r\nHost: a\r\n\r\n",
            "GET /x HTTP/1.1 \r\nHost: a\r\n\r\n",
            "G(T /x HTTP/1.1\r\nHost: a\r\n\r\n",
        }) {
            assertThrows(IllegalArgumentException.class, () -> RequestHead.of(bad), bad);
        }
        RequestHead h2 = new RequestHead("PRI * HTTP/2.0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
        assertEquals(RequestHead.UNSUPPORTED_VERSION, h2.parse());
    }
}
