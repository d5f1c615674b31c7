package dev.keyswap.pipeline;

import io.netty.handler.codec.http.HttpHeaderNames;

/** Finds the client's Keyswap token in the first present slot, in SPEC §1's order. */
final class TokenExtractor {
    static final String X_API_KEY = "x-api-key";
    static final String X_GOOG_API_KEY = "x-goog-api-key";
    static final String API_KEY = "api-key";
    static final String QUERY_KEY = "key";

    record Found(TokenSlot slot, String token) {
    }

    private TokenExtractor() {
    }

    /**
     * @param webSocket whether the request is a WebSocket upgrade: the subprotocol slot is read
     *                  on those only (SPEC section 1), as only their handshake is rewritten for
     *                  the upstream without it
     */
    static Found find(RequestHead headers, String rawQuery, boolean webSocket) {
        String authorization = headers.get(HttpHeaderNames.AUTHORIZATION);
        if (authorization != null) {
            String v = authorization.trim();
            if (v.regionMatches(true, 0, "Bearer ", 0, 7)) {
                String token = v.substring(7).trim();
                if (!token.isEmpty()) {
                    return new Found(TokenSlot.AUTHORIZATION_BEARER, token);
                }
            }
        }
        Found f = header(headers, X_API_KEY, TokenSlot.X_API_KEY);
        if (f == null) {
            f = header(headers, X_GOOG_API_KEY, TokenSlot.X_GOOG_API_KEY);
        }
        if (f == null) {
            f = header(headers, API_KEY, TokenSlot.API_KEY);
        }
        if (f == null && rawQuery != null) {
            String key = QueryString.first(rawQuery, QUERY_KEY);
            if (key != null && !key.isEmpty()) {
                f = new Found(TokenSlot.QUERY_KEY, key);
            }
        }
        if (f == null && webSocket) {
            String token = WebSocketHandshake.tokenFromSubprotocols(headers);
            if (token != null) {
                f = new Found(TokenSlot.WEBSOCKET_SUBPROTOCOL, token);
            }
        }
        return f;
    }

    private static Found header(RequestHead headers, String name, TokenSlot slot) {
        String v = headers.get(name);
        return v == null || v.isBlank() ? null : new Found(slot, v.trim());
    }
}
