package dev.keyswap.pipeline;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;

/**
 * The parts of the WebSocket opening handshake (RFC 6455 §4) a key-swapping proxy must touch.
 * Browsers cannot set headers on a WebSocket, so OpenAI's Realtime API accepts the key as the
 * subprotocol {@code openai-insecure-api-key.<key>}; Keyswap accepts its own token there, and that
 * entry must never reach the upstream nor be echoed back to the client.
 */
final class WebSocketHandshake {
    static final String INSECURE_KEY_PREFIX = "openai-insecure-api-key.";

    private WebSocketHandshake() {
    }

    static boolean isUpgrade(RequestHead head) {
        return head.method == HttpMethod.GET
                && head.hasElement(HttpHeaderNames.UPGRADE, "websocket")
                && head.hasElement(HttpHeaderNames.CONNECTION, "upgrade");
    }

    /** The token carried in the insecure-key subprotocol, or null. */
    static String tokenFromSubprotocols(RequestHead headers) {
        for (String offered : subprotocols(headers)) {
            if (offered.startsWith(INSECURE_KEY_PREFIX) && offered.length() > INSECURE_KEY_PREFIX.length()) {
                return offered.substring(INSECURE_KEY_PREFIX.length());
            }
        }
        return null;
    }

    /**
     * Restores the upgrade headers (removed with the hop-by-hop set), drops the secret
     * subprotocol, and offers the upstream no extension: a compressed message
     * ({@code permessage-deflate}) cannot be read by the usage tap as it passes, and a client
     * offering compression, as OkHttp and browsers do, would have its Realtime session's tokens
     * go unmetered. Without the offer the upstream answers uncompressed, and the client, which
     * only offered, takes that.
     */
    static void rewriteRequest(RequestHead h, List<String> offered) {
        h.set(HttpHeaderNames.CONNECTION, "upgrade");
        h.set(HttpHeaderNames.UPGRADE, "websocket");
        h.remove(HttpHeaderNames.SEC_WEBSOCKET_EXTENSIONS);
        List<String> kept = new ArrayList<>(offered.size());
        for (String p : offered) {
            if (!p.startsWith(INSECURE_KEY_PREFIX)) {
                kept.add(p);
            }
        }
        h.remove(HttpHeaderNames.SEC_WEBSOCKET_PROTOCOL);
        if (!kept.isEmpty()) {
            h.set(HttpHeaderNames.SEC_WEBSOCKET_PROTOCOL, String.join(", ", kept));
        }
    }

    /**
     * Keeps the upgrade headers on the 101, and the selected subprotocol only when it is one the
     * client offered and not the secret one (RFC 6455 §4.1: the client fails otherwise anyway).
     */
    static void rewriteResponse(HttpResponse response, List<String> offered) {
        HttpHeaders h = response.headers();
        h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
        h.set(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET);
        String selected = h.get(HttpHeaderNames.SEC_WEBSOCKET_PROTOCOL);
        if (selected != null && (selected.trim().startsWith(INSECURE_KEY_PREFIX) || !offered.contains(selected.trim()))) {
            h.remove(HttpHeaderNames.SEC_WEBSOCKET_PROTOCOL);
        }
    }

    static List<String> subprotocols(RequestHead headers) {
        List<String> out = new ArrayList<>(2);
        for (String value : headers.getAll(HttpHeaderNames.SEC_WEBSOCKET_PROTOCOL)) {
            for (String p : value.split(",")) {
                String t = p.trim();
                if (!t.isEmpty()) {
                    out.add(t);
                }
            }
        }
        return out;
    }
}
