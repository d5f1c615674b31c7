package dev.keyswap.pipeline;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;

/**
 * Connection-specific header fields (RFC 9110 §7.6.1): meaningful only for one hop, so a proxy
 * removes them, and every field the Connection header names, before forwarding either way.
 */
final class HopByHop {
    /** AsciiStrings, so each removal reuses a cached hash instead of hashing the name again. */
    private static final AsciiString[] FIELDS = {
        HttpHeaderNames.CONNECTION, HttpHeaderNames.KEEP_ALIVE, AsciiString.cached("proxy-connection"), HttpHeaderNames.TE,
        HttpHeaderNames.TRAILER, HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderNames.UPGRADE,
        HttpHeaderNames.PROXY_AUTHORIZATION, HttpHeaderNames.PROXY_AUTHENTICATE,
    };

    private HopByHop() {
    }

    static void strip(HttpHeaders h) {
        if (h.contains(HttpHeaderNames.CONNECTION)) {
            stripNominated(h);
        }
        for (AsciiString name : FIELDS) {
            h.remove(name);
        }
    }

    private static void stripNominated(HttpHeaders h) {
        for (String value : h.getAll(HttpHeaderNames.CONNECTION)) {
            for (String name : value.split(",")) {
                String n = name.trim();
                if (!n.isEmpty()) {
                    h.remove(n);
                }
            }
        }
    }
}
