package dev.keyswap.pipeline;

import dev.keyswap.connect.AuthType;
import dev.keyswap.connect.Credential;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The key swap: resolves the real credential (SPEC §1 step 3, {@link CredentialResolver}) and
 * rewrites the request head for the upstream (step 4): every token slot and hop-by-hop header
 * removed, Host set, forwarding headers appended, exactly one framing header, a connection's
 * extra headers merged, the credential where the upstream expects it. A resolution that needs
 * the database parks the request as {@link AuthStep} does, and resumes it on its event loop.
 */
public final class CredentialStep implements HeadStep {
    private static final Logger log = LoggerFactory.getLogger(CredentialStep.class);
    static final AsciiString X_FORWARDED_FOR = AsciiString.cached("x-forwarded-for");
    static final AsciiString X_FORWARDED_PROTO = AsciiString.cached("x-forwarded-proto");
    private static final String IDENTITY = "identity";

    private final CredentialResolver resolver;
    private final boolean inboundTls;

    CredentialStep(CredentialResolver resolver, boolean inboundTls) {
        this.resolver = resolver;
        this.inboundTls = inboundTls;
    }

    @Override
    public void onHead(HeadSteps steps, InboundRequest request) {
        CompletableFuture<CredentialResolver.Resolution> resolution = resolver.resolve(request);
        Parking.whenDone(steps, resolution, () -> onResolved(steps, request, resolution.join()));
    }

    private void onResolved(HeadSteps steps, InboundRequest request, CredentialResolver.Resolution r) {
        ChannelHandlerContext ctx = steps.ctx();
        if (!ctx.channel().isActive()) {
            return;
        }
        if (r.error() != null) {
            Responses.error(ctx, request, r.error());
            return;
        }
        request.credential = r.credential();
        try {
            rewrite(request, inboundTls);
        } catch (IllegalArgumentException e) {
            // A secret or extra header with a character no header can carry, stored before such
            // values were refused: answer, where the exception left the request unanswered.
            log.warn("request {}: the credential of {} cannot be sent in a header: {}", request.requestId,
                    r.credential().target().authority(), e.getMessage());
            Responses.error(ctx, request, ProxyError.badGateway("credential_unavailable",
                    "the stored credential or an extra header of its connection cannot be sent in an HTTP header; replace it"));
            return;
        }
        steps.proceed(request);
    }

    static void rewrite(InboundRequest request, boolean inboundTls) {
        RequestHead h = request.head;
        if (request.webSocket) {
            request.offeredSubprotocols = WebSocketHandshake.subprotocols(h);
        }
        // Hop-by-hop fields, the token slots, Cookie, Host and Expect (Keyswap answers Expect itself
        // once the token is accepted; the upstream just gets the body).
        h.dropForUpstream();
        Credential c = request.credential;
        h.add(HttpHeaderNames.HOST, c.target().authority());
        append(h, X_FORWARDED_FOR, request.clientIp);
        append(h, X_FORWARDED_PROTO, inboundTls ? "https" : "http");
        // Responses come back uncompressed, so their usage can be read as they pass: SDKs ask for
        // gzip, deflate and br by default, and a compressed body left every JSON response of
        // theirs unmetered (no model, no tokens, no cost, nothing against a budget). The
        // client's own Accept-Encoding went with dropForUpstream.
        h.add(HttpHeaderNames.ACCEPT_ENCODING, IDENTITY);
        if (h.chunked) {
            // The body goes on as it came, in chunks: the one framing field the upstream gets.
            h.add(HttpHeaderNames.TRANSFER_ENCODING, "chunked");
        }
        if (request.webSocket) {
            // Sec-WebSocket-Protocol went with dropForUpstream: set again here without the token.
            // On any other request it is meaningless, and a place a browser puts the token.
            WebSocketHandshake.rewriteRequest(h, request.offeredSubprotocols);
        }
        for (Map.Entry<String, String> e : c.extraHeaders().entrySet()) {
            h.set(e.getKey(), e.getValue());
        }
        String query = QueryString.without(request.rawQuery, TokenExtractor.QUERY_KEY);
        if (c.type() == AuthType.QUERY) {
            // The credential's own parameter is Keyswap's to set: a client's value beside it
            // reached the upstream too, which might take either one, or echo both in an error.
            query = QueryString.without(query, c.param());
        }
        String path = c.target().basePath() + request.upstreamPath;
        request.uriWithoutCredential = query == null ? path : path + "?" + query;
        applyCredential(request);
    }

    /** Puts the credential in its slot; again on a retry with another secret of the pool. */
    static void applyCredential(InboundRequest request) {
        RequestHead h = request.head;
        Credential c = request.credential;
        String uri = request.uriWithoutCredential;
        switch (c.type()) {
            case BEARER, OAUTH2_TOKEN -> h.set(HttpHeaderNames.AUTHORIZATION, "Bearer " + c.secret());
            case BASIC -> h.set(HttpHeaderNames.AUTHORIZATION,
                    "Basic " + Base64.getEncoder().encodeToString(c.secret().getBytes(StandardCharsets.UTF_8)));
            case API_KEY -> h.set(c.param(), c.secret());
            case QUERY -> {
                String param = QueryString.encode(c.param()) + "=" + QueryString.encode(c.secret());
                uri = uri + (uri.indexOf('?') >= 0 ? "&" : "?") + param;
            }
            case NONE -> {
            }
        }
        h.upstreamTarget(uri);
    }

    private static void append(RequestHead h, AsciiString name, String value) {
        String existing = h.get(name);
        h.set(name, existing == null || existing.isBlank() ? value : existing + ", " + value);
    }
}
