package dev.keyswap.pipeline;

import dev.keyswap.route.CredentialSlot;
import dev.keyswap.route.Provider;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;

/**
 * The key swap: resolves the real credential (SPEC §1 step 3) and rewrites the request head for
 * the upstream (step 4): every token slot and hop-by-hop header removed, Host set, forwarding
 * headers appended, exactly one framing header, the credential in the provider's slot.
 */
public final class CredentialHandler extends ChannelInboundHandlerAdapter {
    /** Every place a client may put a Keyswap token or a split-key part: never forwarded. */
    private static final AsciiString[] TOKEN_SLOTS = {
        HttpHeaderNames.AUTHORIZATION, AsciiString.cached(TokenExtractor.X_API_KEY), AsciiString.cached(TokenExtractor.X_GOOG_API_KEY),
        AsciiString.cached(TokenExtractor.API_KEY), AsciiString.cached("x-partial-key-id"), AsciiString.cached("x-partial-key"),
    };
    private static final AsciiString X_FORWARDED_FOR = AsciiString.cached("x-forwarded-for");
    private static final AsciiString X_FORWARDED_PROTO = AsciiString.cached("x-forwarded-proto");

    private final boolean inboundTls;

    public CredentialHandler(boolean inboundTls) {
        this.inboundTls = inboundTls;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof InboundRequest request) {
            String credential = resolve(request);
            if (credential == null) {
                Responses.error(ctx, request, ProxyError.badRequest("credential_not_configured",
                        "no credential is configured for provider '" + request.provider.name() + "' and this token"));
                return;
            }
            rewrite(request, credential, inboundTls);
        }
        ctx.fireChannelRead(msg);
    }

    /** The server key, when the token may use it. Tenant keys and connections plug in here. */
    private static String resolve(InboundRequest request) {
        Provider p = request.provider;
        if (request.apiKey.allowServerKeys() && p.serverKey() != null && !p.serverKey().isEmpty()) {
            return p.serverKey();
        }
        return null;
    }

    static void rewrite(InboundRequest request, String credential, boolean inboundTls) {
        HttpHeaders h = request.head.headers();
        boolean chunked = HttpUtil.isTransferEncodingChunked(request.head);
        if (request.webSocket) {
            request.offeredSubprotocols = WebSocketHandshake.subprotocols(h);
        }
        HopByHop.strip(h);
        for (AsciiString name : TOKEN_SLOTS) {
            h.remove(name);
        }
        // Keyswap answers Expect itself once the token is accepted; the upstream just gets the body.
        h.remove(HttpHeaderNames.EXPECT);
        h.remove(HttpHeaderNames.COOKIE);
        h.set(HttpHeaderNames.HOST, request.provider.target().authority());
        append(h, X_FORWARDED_FOR, request.clientIp);
        append(h, X_FORWARDED_PROTO, inboundTls ? "https" : "http");
        if (chunked) {
            h.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        }
        request.head.setProtocolVersion(HttpVersion.HTTP_1_1);
        if (request.webSocket) {
            WebSocketHandshake.rewriteRequest(h, request.offeredSubprotocols);
        }

        Provider p = request.provider;
        String query = QueryString.without(request.rawQuery, TokenExtractor.QUERY_KEY);
        boolean queryCredential = p.slot() == CredentialSlot.X_GOOG_API_KEY && request.tokenSlot == TokenSlot.QUERY_KEY;
        if (queryCredential) {
            String param = TokenExtractor.QUERY_KEY + "=" + QueryString.encode(credential);
            query = query == null ? param : query + "&" + param;
        } else if (p.slot() == CredentialSlot.BEARER) {
            h.set(HttpHeaderNames.AUTHORIZATION, "Bearer " + credential);
        } else {
            h.set(p.slot().headerName(), credential);
        }
        String path = p.target().basePath() + request.upstreamPath;
        request.head.setUri(query == null ? path : path + "?" + query);
    }

    private static void append(HttpHeaders h, AsciiString name, String value) {
        String existing = h.get(name);
        h.set(name, existing == null || existing.isBlank() ? value : existing + ", " + value);
    }
}
