package dev.keyswap.pipeline;

import dev.keyswap.auth.ApiKey;
import dev.keyswap.auth.Authenticator;
import io.netty.channel.ChannelHandlerContext;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks the client's token and its right to this route. A cache hit continues synchronously;
 * a miss parks the request until the key loads on the JDBC executor and then resumes it on this
 * channel's event loop. While parked nobody calls {@code read()}, so the {@link RequestReader}
 * holds back body bytes already received: nothing moves before the token is accepted (and only
 * then is {@code 100 Continue} sent).
 */
public final class AuthStep implements HeadStep {
    private static final Logger log = LoggerFactory.getLogger(AuthStep.class);
    private final Authenticator.ConnectionTokens tokens;

    /** One per client connection: it remembers the connection's last token. */
    public AuthStep(Authenticator authenticator) {
        this.tokens = authenticator.forConnection();
    }

    @Override
    public void onHead(HeadSteps steps, InboundRequest request) {
        ChannelHandlerContext ctx = steps.ctx();
        TokenExtractor.Found found = TokenExtractor.find(request.head, request.rawQuery, request.webSocket);
        if (found == null) {
            Responses.error(ctx, request, ProxyError.unauthorized("missing_token",
                    "no Keyswap token: send it as 'Authorization: Bearer ptk_…' (or x-api-key, x-goog-api-key, api-key, ?key=)"));
            return;
        }
        request.tokenSlot = found.slot();
        CompletableFuture<Optional<ApiKey>> lookup = tokens.lookup(found.token(), request.receivedNanos);
        Parking.whenDone(steps, lookup, () -> onKey(steps, request, lookup));
    }

    private void onKey(HeadSteps steps, InboundRequest request, CompletableFuture<Optional<ApiKey>> lookup) {
        ChannelHandlerContext ctx = steps.ctx();
        if (!ctx.channel().isActive()) {
            return;
        }
        Optional<ApiKey> found;
        try {
            found = lookup.join();
        } catch (RuntimeException e) {
            log.warn("token lookup failed for request {}: {}", request.requestId, e.toString());
            Responses.error(ctx, request, ProxyError.unavailable("storage_unavailable", "token storage is unavailable; try again"));
            return;
        }
        ProxyError refusal = refusal(found, request);
        if (refusal != null) {
            Responses.error(ctx, request, refusal);
            return;
        }
        request.apiKey = found.get();
        steps.proceed(request);
    }

    private static ProxyError refusal(Optional<ApiKey> found, InboundRequest request) {
        if (found.isEmpty()) {
            return ProxyError.unauthorized("invalid_token", "the Keyswap token is not valid");
        }
        ApiKey key = found.get();
        if (key.isRevoked()) {
            return ProxyError.unauthorized("token_revoked", "the Keyswap token has been revoked");
        }
        if (key.isExpiredAt(Instant.now())) {
            return ProxyError.unauthorized("token_expired", "the Keyswap token has expired");
        }
        if (!key.hasScope(ApiKey.SCOPE_PROXY)) {
            return ProxyError.forbidden("insufficient_scope", "the Keyswap token lacks the 'proxy' scope");
        }
        if (request.provider != null && !key.allowsProvider(request.provider.name())) {
            return ProxyError.forbidden("provider_not_allowed", "the Keyswap token may not call provider '" + request.provider.name() + "'");
        }
        return null;
    }
}
