package dev.keyswap.pipeline;

import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * An error Keyswap itself answers with, in the shape OpenAI SDKs parse:
 * {@code {"error":{"type":…,"code":…,"message":…,"request_id":…}}}. Messages never carry a secret.
 */
public record ProxyError(HttpResponseStatus status, String type, String code, String message) {

    public static ProxyError badRequest(String code, String message) {
        return new ProxyError(HttpResponseStatus.BAD_REQUEST, "invalid_request_error", code, message);
    }

    public static ProxyError unauthorized(String code, String message) {
        return new ProxyError(HttpResponseStatus.UNAUTHORIZED, "authentication_error", code, message);
    }

    public static ProxyError forbidden(String code, String message) {
        return new ProxyError(HttpResponseStatus.FORBIDDEN, "permission_error", code, message);
    }

    public static ProxyError notFound(String code, String message) {
        return new ProxyError(HttpResponseStatus.NOT_FOUND, "not_found_error", code, message);
    }

    public static ProxyError badGateway(String code, String message) {
        return new ProxyError(HttpResponseStatus.BAD_GATEWAY, "upstream_error", code, message);
    }

    public static ProxyError gatewayTimeout(String code, String message) {
        return new ProxyError(HttpResponseStatus.GATEWAY_TIMEOUT, "upstream_error", code, message);
    }

    public static ProxyError unavailable(String code, String message) {
        return new ProxyError(HttpResponseStatus.SERVICE_UNAVAILABLE, "server_error", code, message);
    }

    public static ProxyError rateLimited(String code, String message) {
        return new ProxyError(HttpResponseStatus.TOO_MANY_REQUESTS, "rate_limit_error", code, message);
    }

    /** A request body over {@code server.max_body_bytes}, told by its Content-Length or as its chunks arrive. */
    public static ProxyError bodyTooLarge(long maxBodyBytes) {
        return new ProxyError(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "invalid_request_error",
                "body_too_large", "request body is larger than " + maxBodyBytes + " bytes");
    }

    /** Client input quoted in a message, cut to a length that cannot flood a log or a response. */
    static String clip(String s) {
        return s.length() > 64 ? s.substring(0, 64) + "…" : s;
    }

    /** The JSON body; fields are escaped, so a message may quote client input safely. */
    public String toJson(String requestId) {
        StringBuilder sb = new StringBuilder(128);
        sb.append("{\"error\":{\"type\":");
        quote(sb, type);
        sb.append(",\"code\":");
        quote(sb, code);
        sb.append(",\"message\":");
        quote(sb, message);
        sb.append(",\"request_id\":");
        quote(sb, requestId);
        return sb.append("}}").toString();
    }

    private static void quote(StringBuilder sb, String s) {
        if (s == null) {
            sb.append("null");
            return;
        }
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20 || c > 0x7e) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
