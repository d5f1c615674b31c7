package dev.keyswap.pipeline;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

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
        List<String> named = null;
        for (Iterator<String> values = h.valueStringIterator(HttpHeaderNames.CONNECTION); values.hasNext(); ) {
            String value = values.next();
            int from = 0;
            while (from <= value.length()) {
                int comma = value.indexOf(',', from);
                int to = comma < 0 ? value.length() : comma;
                // Nearly every client sends just "keep-alive" or "close": options, not field names
                // (and Keep-Alive goes with the fields above), so they make no String and no removal.
                if (!isOption(value, from, to)) {
                    String n = value.substring(from, to).trim();
                    if (!n.isEmpty()) {
                        if (named == null) {
                            named = new ArrayList<>(2);
                        }
                        named.add(n);
                    }
                }
                from = to + 1;
            }
        }
        if (named != null) {
            for (String n : named) {
                h.remove(n);
            }
        }
    }

    /** {@code value[from, to)}, spaces around it aside, is the option keep-alive or close. */
    private static boolean isOption(String value, int from, int to) {
        while (from < to && value.charAt(from) <= ' ') {
            from++;
        }
        while (to > from && value.charAt(to - 1) <= ' ') {
            to--;
        }
        int n = to - from;
        return (n == 10 && value.regionMatches(true, from, "keep-alive", 0, 10))
                || (n == 5 && value.regionMatches(true, from, "close", 0, 5));
    }
}
