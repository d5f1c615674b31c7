package dev.keyswap.pipeline;

import dev.keyswap.usage.RequestIds;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Locale;

/**
 * First step after the codec: refuses what a proxy must not forward, and turns an acceptable
 * request head into an {@link InboundRequest}.
 *
 * <p>Netty's decoder is lenient where a proxy must be strict (RFC 9112 §6.1, §6.3): it reports
 * errors in {@code decoderResult()} instead of throwing, and it repairs a request carrying both
 * Content-Length and Transfer-Encoding rather than refusing it. Two parties reading different
 * framings from the same bytes is request smuggling, so every ambiguity is a 400 and a close.
 */
public final class RequestGuard extends ChannelInboundHandlerAdapter {
    private final long maxBodyBytes;
    private String clientIp;
    private long bodyBytes;
    /** Where body content goes on from: this guard's own context until {@link #sendContentPast} says otherwise. */
    private ChannelHandlerContext contentExit;

    /** @param maxBodyBytes request body limit, 0 for none */
    public RequestGuard(long maxBodyBytes) {
        this.maxBodyBytes = maxBodyBytes;
    }

    /**
     * Lets body content skip the steps that only look at request heads: content is fired from
     * {@code lastHeadStep}'s context, so the first handler it reaches is the one after that step
     * (the relay). Each skipped step only forwarded it, at a pipeline hop apiece for every chunk and
     * every bodiless request's empty last content. Skipping is safe because a head that a step
     * holds (a token lookup) holds its content too: nobody calls {@code read()} meanwhile, so the
     * flow-control handler before this guard keeps the content back.
     */
    public void sendContentPast(ChannelHandlerContext lastHeadStep) {
        contentExit = lastHeadStep;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        if (contentExit == null) {
            contentExit = ctx;
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpRequest request) {
            onRequest(ctx, request);
        } else if (msg instanceof HttpContent content) {
            onContent(ctx, content);
        } else {
            ctx.fireChannelRead(msg);
        }
    }

    private void onRequest(ChannelHandlerContext ctx, HttpRequest request) {
        String requestId = RequestIds.next();
        ProxyError error = check(request);
        if (error != null) {
            ReferenceCountUtil.release(request);
            Responses.errorAndClose(ctx, requestId, error);
            return;
        }
        String target = request.uri();
        int q = target.indexOf('?');
        String path = q < 0 ? target : target.substring(0, q);
        String query = q < 0 || q == target.length() - 1 ? null : target.substring(q + 1);
        boolean chunked = HttpUtil.isTransferEncodingChunked(request);
        boolean hasBody = chunked || HttpUtil.getContentLength(request, 0L) > 0;
        bodyBytes = 0;
        ctx.fireChannelRead(new InboundRequest(request, requestId, System.nanoTime(), clientIp(ctx),
                HttpUtil.isKeepAlive(request), hasBody, path, query));
    }

    private void onContent(ChannelHandlerContext ctx, HttpContent content) {
        if (content.decoderResult().isFailure()) {
            // Mid-body framing error: nothing sensible can be answered; whoever holds the
            // exchange sees the close and aborts its upstream side.
            content.release();
            ctx.close();
            return;
        }
        bodyBytes += content.content().readableBytes();
        if (maxBodyBytes > 0 && bodyBytes > maxBodyBytes) {
            content.release();
            ctx.close();
            return;
        }
        contentExit.fireChannelRead(content);
    }

    private ProxyError check(HttpRequest request) {
        DecoderResult result = request.decoderResult();
        if (result.isFailure()) {
            Throwable cause = result.cause();
            if (cause instanceof TooLongHttpLineException) {
                return new ProxyError(HttpResponseStatus.REQUEST_URI_TOO_LONG, "invalid_request_error",
                        "request_line_too_long", "request line is longer than the limit");
            }
            if (cause instanceof TooLongHttpHeaderException || cause instanceof TooLongFrameException) {
                return new ProxyError(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "invalid_request_error",
                        "headers_too_large", "request headers are larger than the limit");
            }
            return ProxyError.badRequest("malformed_request", "malformed HTTP request");
        }
        if (request.protocolVersion() != HttpVersion.HTTP_1_1 && request.protocolVersion() != HttpVersion.HTTP_1_0) {
            return ProxyError.badRequest("unsupported_version", "only HTTP/1.0 and HTTP/1.1 are supported");
        }
        HttpMethod method = request.method();
        if (method == HttpMethod.CONNECT || method == HttpMethod.TRACE) {
            return new ProxyError(HttpResponseStatus.METHOD_NOT_ALLOWED, "invalid_request_error",
                    "method_not_allowed", method.name() + " is not allowed");
        }
        HttpHeaders headers = request.headers();
        List<String> hosts = headers.getAll(HttpHeaderNames.HOST);
        if (hosts.size() > 1 || (hosts.isEmpty() && request.protocolVersion() == HttpVersion.HTTP_1_1)) {
            return ProxyError.badRequest("bad_host", "exactly one Host header is required");
        }
        List<String> transferEncodings = headers.getAll(HttpHeaderNames.TRANSFER_ENCODING);
        List<String> contentLengths = headers.getAll(HttpHeaderNames.CONTENT_LENGTH);
        if (!transferEncodings.isEmpty()) {
            if (transferEncodings.size() > 1 || !HttpHeaderValues.CHUNKED.contentEqualsIgnoreCase(transferEncodings.get(0).trim())) {
                return ProxyError.badRequest("bad_framing", "Transfer-Encoding other than a single 'chunked' is not accepted");
            }
            if (!contentLengths.isEmpty()) {
                return ProxyError.badRequest("bad_framing", "Content-Length together with Transfer-Encoding is not accepted");
            }
            if (request.protocolVersion() == HttpVersion.HTTP_1_0) {
                return ProxyError.badRequest("bad_framing", "Transfer-Encoding is not valid in HTTP/1.0");
            }
        }
        if (contentLengths.size() > 1) {
            return ProxyError.badRequest("bad_framing", "more than one Content-Length");
        }
        if (contentLengths.size() == 1) {
            long length = parseLength(contentLengths.get(0));
            if (length < 0) {
                return ProxyError.badRequest("bad_framing", "Content-Length is not a number");
            }
            if (maxBodyBytes > 0 && length > maxBodyBytes) {
                return new ProxyError(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "invalid_request_error",
                        "body_too_large", "request body is larger than " + maxBodyBytes + " bytes");
            }
        }
        String target = request.uri();
        if (target.regionMatches(true, 0, "http://", 0, 7) || target.regionMatches(true, 0, "https://", 0, 8)) {
            String originForm = originFormOf(target, hosts.isEmpty() ? null : hosts.get(0));
            if (originForm == null) {
                return ProxyError.badRequest("invalid_request_target", "absolute-form target for a host other than Host");
            }
            request.setUri(originForm);
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

    private static long parseLength(String value) {
        String v = value.trim();
        if (v.isEmpty() || v.length() > 18) {
            return -1;
        }
        long n = 0;
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            n = n * 10 + (c - '0');
        }
        return n;
    }

    private String clientIp(ChannelHandlerContext ctx) {
        if (clientIp == null) {
            clientIp = ctx.channel().remoteAddress() instanceof InetSocketAddress a && a.getAddress() != null
                    ? a.getAddress().getHostAddress() : "unknown";
        }
        return clientIp;
    }
}
