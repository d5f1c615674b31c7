package dev.keyswap.pipeline;

/**
 * Refuses request targets a proxy must not forward rather than normalising them: a target that
 * means one thing to Keyswap's router and another to the upstream is how path rules are bypassed
 * (see RFC 3986 §5.2.4 dot-segments; encoded slashes and dots are the classic way around them).
 * Returns null when the target is acceptable, else the reason.
 */
public final class RequestTargetValidator {
    private RequestTargetValidator() {
    }

    /** @param target the origin-form target (path and optional query) */
    public static String rejectReason(String target) {
        if (target.isEmpty() || target.charAt(0) != '/') {
            return "request target must be an absolute path";
        }
        int query = target.indexOf('?');
        int pathEnd = query < 0 ? target.length() : query;
        int segmentStart = 1;
        for (int i = 0; i < pathEnd; i++) {
            char c = target.charAt(i);
            if (c <= 0x20 || c >= 0x7f) {
                return "control, space or non-ASCII character in path";
            }
            if (c == '\\' || c == '#') {
                return "backslash or '#' in path";
            }
            if (c == '%') {
                if (i + 2 >= pathEnd || hex(target.charAt(i + 1)) < 0 || hex(target.charAt(i + 2)) < 0) {
                    return "malformed percent-encoding in path";
                }
                int decoded = hex(target.charAt(i + 1)) * 16 + hex(target.charAt(i + 2));
                if (decoded == '.' || decoded == '/' || decoded == '\\' || decoded < 0x20 || decoded == 0x7f || decoded == '%') {
                    return "encoded dot, slash, backslash, percent or control character in path";
                }
            }
            if (c == '/' && i > 0) {
                String reason = segmentReason(target, segmentStart, i);
                if (reason != null) {
                    return reason;
                }
                segmentStart = i + 1;
            }
        }
        if (pathEnd > 1) {
            String reason = lastSegmentReason(target, segmentStart, pathEnd);
            if (reason != null) {
                return reason;
            }
        }
        for (int i = pathEnd + 1; i < target.length(); i++) {
            char c = target.charAt(i);
            if (c <= 0x20 || c >= 0x7f || c == '#') {
                return "control, space, non-ASCII or '#' character in query";
            }
        }
        return null;
    }

    private static String segmentReason(String t, int start, int end) {
        int len = end - start;
        if (len == 0) {
            return "empty path segment ('//')";
        }
        return dots(t, start, len);
    }

    private static String lastSegmentReason(String t, int start, int end) {
        int len = end - start;
        return len == 0 ? null : dots(t, start, len);
    }

    /**
     * A segment that is {@code .} or {@code ..}, also with path parameters ({@code ..;x}, RFC
     * 3986 section 3.3): Tomcat, Jetty and Spring drop a segment's {@code ;} part before they
     * resolve dot segments, so {@code /v1/models/..;/admin} passed a connection's allowed path
     * here and meant {@code /v1/admin} there.
     */
    private static String dots(String t, int start, int len) {
        int semicolon = t.indexOf(';', start);
        int name = semicolon >= 0 && semicolon < start + len ? semicolon - start : len;
        if ((name == 1 && t.charAt(start) == '.') || (name == 2 && t.charAt(start) == '.' && t.charAt(start + 1) == '.')) {
            return "dot segment in path";
        }
        return null;
    }

    private static int hex(char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    }
}
