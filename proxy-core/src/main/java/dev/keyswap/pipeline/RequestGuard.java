package dev.keyswap.pipeline;

import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.Locale;

/**
 * What a proxy must not forward (RFC 9112 section 6.1, 6.3, 3.2): {@link RequestReader} asks
 * for every head it reads, before anything else sees it.
 *
 * <p>Two parties reading different framings from the same bytes is request smuggling, so every
 * ambiguity is a 400 and a close: a Content-Length beside Transfer-Encoding, any transfer coding
 * but a single chunked (or any in HTTP/1.0), more than one Content-Length, a Host missing or
 * repeated. CONNECT and TRACE are not proxied; an absolute-form target is accepted only for the
 * authority in Host, and every target is validated ({@link RequestTargetValidator}).
 */
final class RequestGuard {
    private RequestGuard() {
    }

    /** What a head {@link RequestHead#parse} found wrong means for the client. */
    static ProxyError malformed(String problem) {
        if (RequestHead.UNSUPPORTED_VERSION.equals(problem)) {
            return ProxyError.badRequest("unsupported_version", "only HTTP/1.0 and HTTP/1.1 are supported");
        }
        return ProxyError.badRequest("malformed_request", "malformed HTTP request: " + problem);
    }

    static ProxyError lineTooLong() {
        return new ProxyError(HttpResponseStatus.REQUEST_URI_TOO_LONG, "invalid_request_error",
                "request_line_too_long", "request line is longer than the limit");
    }

    static ProxyError headTooLarge() {
        return new ProxyError(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "invalid_request_error",
                "headers_too_large", "request headers are larger than the limit");
    }

    /**
     * What is wrong with a well-formed head for a proxy, or null; turns an absolute-form target
     * for ourselves into origin-form. {@code maxBodyBytes}: the request body limit, 0 for none.
     */
    static ProxyError check(RequestHead request, long maxBodyBytes) {
        HttpMethod method = request.method;
        if (method == HttpMethod.CONNECT || method == HttpMethod.TRACE) {
            return new ProxyError(HttpResponseStatus.METHOD_NOT_ALLOWED, "invalid_request_error",
                    "method_not_allowed", method.name() + " is not allowed");
        }
        if (request.hosts > 1 || (request.hosts == 0 && request.http11)) {
            return ProxyError.badRequest("bad_host", "exactly one Host header is required");
        }
        if (request.transferEncodings > 0) {
            if (request.transferEncodings > 1 || !request.chunked) {
                return ProxyError.badRequest("bad_framing", "Transfer-Encoding other than a single 'chunked' is not accepted");
            }
            if (request.contentLengths > 0) {
                return ProxyError.badRequest("bad_framing", "Content-Length together with Transfer-Encoding is not accepted");
            }
            if (!request.http11) {
                return ProxyError.badRequest("bad_framing", "Transfer-Encoding is not valid in HTTP/1.0");
            }
        }
        if (request.contentLengths > 1) {
            return ProxyError.badRequest("bad_framing", "more than one Content-Length");
        }
        if (request.contentLengths == 1) {
            if (request.contentLength < 0) {
                return ProxyError.badRequest("bad_framing", "Content-Length is not a number");
            }
            if (maxBodyBytes > 0 && request.contentLength > maxBodyBytes) {
                return ProxyError.bodyTooLarge(maxBodyBytes);
            }
        }
        String target = request.target;
        if (target.regionMatches(true, 0, "http://", 0, 7) || target.regionMatches(true, 0, "https://", 0, 8)) {
            String originForm = originFormOf(target, request.value(request.hostField));
            if (originForm == null) {
                return ProxyError.badRequest("invalid_request_target", "absolute-form target for a host other than Host");
            }
            request.target = originForm;
            target = originForm;
        }
        String reason = RequestTargetValidator.rejectReason(target);
        if (reason != null) {
            return ProxyError.badRequest("invalid_request_target", "invalid request target: " + reason);
        }
        return null;
    }

    /** RFC 9112 §3.2.2: absolute-form is accepted only for ourselves, i.e. the authority in Host. */
    private static String originFormOf(String target, String host) {
        int authorityStart = target.indexOf("//") + 2;
        int slash = target.indexOf('/', authorityStart);
        int question = target.indexOf('?', authorityStart);
        int end = slash < 0 ? (question < 0 ? target.length() : question) : (question < 0 ? slash : Math.min(slash, question));
        String authority = target.substring(authorityStart, end);
        if (host == null || authority.contains("@") || !authority.toLowerCase(Locale.ROOT).equals(host.trim().toLowerCase(Locale.ROOT))) {
            return null;
        }
        String rest = target.substring(end);
        return rest.isEmpty() ? "/" : rest.startsWith("?") ? "/" + rest : rest;
    }
}
