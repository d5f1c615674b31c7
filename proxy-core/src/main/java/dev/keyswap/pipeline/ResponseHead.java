package dev.keyswap.pipeline;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * An upstream response head as {@link UpstreamResponseReader} read it: the bytes as received and
 * where each field lies in them, with what the relay needs to know already picked out (framing,
 * keep-alive, content type) and the fields that must not reach the client already marked. The
 * client's head is written from these bytes ({@link ClientResponseHead}); no header object is
 * built for a relayed response.
 *
 * <p>Valid only during {@link UpstreamResponseReader.Listener#onResponseHead}: the reader reuses
 * it, and its bytes, for the next response.
 */
final class ResponseHead extends HeadFields {
    // Names the relay recognises in a response head besides HeadFields' own kinds.
    static final int CONTENT_TYPE = FIRST_OWN_KIND;
    static final int RETRY_AFTER = FIRST_OWN_KIND + 1;
    /**
     * Hop-by-hop (RFC 9110 section 7.6.1) or never relayed (Set-Cookie), or Keyswap's own: its
     * request id and duration, and CORS, which the operator's {@code cors.allowed_origins}
     * decides. An upstream's {@code Access-Control-Allow-Origin: *} relayed to an origin not
     * allowed let any page read responses to requests that need no preflight (a token in
     * {@code ?key=}).
     */
    static final int DROPPED = FIRST_OWN_KIND + 2;
    private static final FieldNames NAMES = new FieldNames(framingAndHopByHop(DROPPED), Map.ofEntries(
            Map.entry("content-type", CONTENT_TYPE), Map.entry("retry-after", RETRY_AFTER), Map.entry("set-cookie", DROPPED),
            Map.entry("x-request-id", DROPPED), Map.entry("x-proxy-duration-ms", DROPPED),
            Map.entry("access-control-allow-origin", DROPPED), Map.entry("access-control-allow-credentials", DROPPED),
            Map.entry("access-control-expose-headers", DROPPED), Map.entry("access-control-allow-methods", DROPPED),
            Map.entry("access-control-allow-headers", DROPPED), Map.entry("access-control-max-age", DROPPED)));

    int status;
    boolean http11;
    /** The status line from the space before the code to the end of the reason, without its line end. */
    int statusFrom;
    int statusTo;

    /** The body's length as announced, or -1. */
    long contentLength;
    boolean chunked;
    int contentTypeField;
    int retryAfterField;

    ResponseHead() {
        super(NAMES);
    }

    void clear() {
        clearFields();
        contentLength = -1;
        chunked = false;
        contentTypeField = -1;
        retryAfterField = -1;
    }

    @Override
    String onField(int i) {
        int k = kind[i];
        dropped[i] = k == DROPPED || k == TRANSFER_ENCODING || k == CONNECTION;
        switch (k) {
            case CONTENT_LENGTH -> {
                long n = decimal(bytes, valueFrom[i], valueTo[i]);
                if (n < 0 || (contentLength >= 0 && contentLength != n)) {
                    return "the Content-Length is not one decimal number";
                }
                // A repeat of the same value is one field to the client (RFC 9110 section 8.6):
                // strict parsers (Node's llhttp) refuse a response that has two.
                dropped[i] = contentLength >= 0;
                contentLength = n;
            }
            case TRANSFER_ENCODING -> {
                if (chunked || !HeaderBytes.spells(bytes, valueFrom[i], valueTo[i], CHUNKED)) {
                    return "the Transfer-Encoding is not chunked alone";
                }
                chunked = true;
            }
            case CONNECTION -> connectionOptions(i, false);
            case CONTENT_TYPE -> contentTypeField = i;
            case RETRY_AFTER -> retryAfterField = i;
            default -> {
            }
        }
        return null;
    }

    /** The upstream keeps the connection open after this response (RFC 9112 section 9.3). */
    boolean keepAlive() {
        return !connectionClose && (http11 || connectionKeepAlive);
    }

    String contentType() {
        return value(contentTypeField);
    }

    String retryAfter() {
        return value(retryAfterField);
    }

    /**
     * The head as a Netty response, with the fields a client may have (not the hop-by-hop ones,
     * those its Connection field names, nor those Keyswap drops from every response): for the
     * rare responses the relay handles as objects (a WebSocket's 101, whose Connection and
     * Upgrade the handshake sets again).
     */
    HttpResponse toHttpResponse() {
        String reason = new String(bytes, statusFrom + 5, Math.max(0, statusTo - statusFrom - 5), StandardCharsets.ISO_8859_1);
        DefaultHttpHeaders headers = new DefaultHttpHeaders();
        for (int i = 0; i < fields; i++) {
            if (dropped[i]) {
                continue;
            }
            headers.add(new String(bytes, nameFrom[i], nameTo[i] - nameFrom[i], StandardCharsets.ISO_8859_1), value(i));
        }
        return new DefaultHttpResponse(http11 ? HttpVersion.HTTP_1_1 : HttpVersion.HTTP_1_0,
                HttpResponseStatus.valueOf(status, reason.strip()), headers);
    }
}
