package dev.keyswap.pipeline;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;

/**
 * Connection-specific header fields (RFC 9110 §7.6.1): meaningful only for one hop, so a proxy
 * removes them, and every field the Connection header names, before forwarding either way.
 */
final class HopByHop {
    private static final String[] FIELDS = {
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
        "proxy-authorization", "proxy-authenticate",
    };

    private HopByHop() {
    }

    static void strip(HttpHeaders h) {
        for (String value : h.getAll(HttpHeaderNames.CONNECTION)) {
            for (String name : value.split(",")) {
                String n = name.trim();
                if (!n.isEmpty()) {
                    h.remove(n);
                }
            }
        }
        for (String name : FIELDS) {
            h.remove(name);
        }
    }
}
