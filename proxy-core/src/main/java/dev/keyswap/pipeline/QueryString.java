package dev.keyswap.pipeline;

import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

/**
 * The few query operations the proxy needs, on the raw query: everything it does not touch is
 * forwarded byte for byte, never re-encoded.
 */
final class QueryString {
    private QueryString() {
    }

    /** The decoded value of the first parameter named {@code name}, or null. */
    static String first(String rawQuery, String name) {
        int i = 0;
        int n = rawQuery.length();
        while (i <= n) {
            int amp = rawQuery.indexOf('&', i);
            int end = amp < 0 ? n : amp;
            int eq = rawQuery.indexOf('=', i);
            int nameEnd = eq < 0 || eq > end ? end : eq;
            if (nameEnd - i == name.length() && rawQuery.regionMatches(i, name, 0, name.length())) {
                String raw = nameEnd == end ? "" : rawQuery.substring(nameEnd + 1, end);
                try {
                    return URLDecoder.decode(raw, StandardCharsets.UTF_8);
                } catch (IllegalArgumentException e) {
                    return raw;
                }
            }
            if (amp < 0) {
                break;
            }
            i = amp + 1;
        }
        return null;
    }

    /**
     * The raw query without any parameter named {@code name}, also when its name is
     * percent-encoded ({@code k%65y}): the upstream decodes names, so that is the same parameter
     * to it. Null when nothing is left.
     */
    static String without(String rawQuery, String name) {
        if (rawQuery == null) {
            return null;
        }
        StringBuilder out = null;
        int i = 0;
        int n = rawQuery.length();
        boolean removed = false;
        while (i <= n) {
            int amp = rawQuery.indexOf('&', i);
            int end = amp < 0 ? n : amp;
            int eq = rawQuery.indexOf('=', i);
            int nameEnd = eq < 0 || eq > end ? end : eq;
            boolean match = named(rawQuery, i, nameEnd, name);
            if (match) {
                removed = true;
            } else if (end > i) {
                if (out == null) {
                    out = new StringBuilder(n);
                } else {
                    out.append('&');
                }
                out.append(rawQuery, i, end);
            }
            if (amp < 0) {
                break;
            }
            i = amp + 1;
        }
        if (!removed) {
            return rawQuery;
        }
        return out == null ? null : out.toString();
    }

    /** Whether the raw name at [from, to) is {@code name}, as written or once decoded. */
    private static boolean named(String rawQuery, int from, int to, String name) {
        if (to - from == name.length() && rawQuery.regionMatches(from, name, 0, name.length())) {
            return true;
        }
        for (int k = from; k < to; k++) {
            if (rawQuery.charAt(k) == '%') {
                try {
                    return URLDecoder.decode(rawQuery.substring(from, to), StandardCharsets.UTF_8).equals(name);
                } catch (IllegalArgumentException e) {
                    return false; // not a valid encoding: no upstream reads it as the name either
                }
            }
        }
        return false;
    }

    static String encode(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }
}
