package dev.keyswap.pipeline;

import io.netty.handler.codec.DefaultHeaders;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeadersFactory;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * Header-name validation for the heads the HTTP codecs decode, minus the names Keyswap sets on
 * them itself. Netty checks a name on every {@code set} and {@code add}; ours are constants, valid
 * by construction, and checking them again on every request (Host, X-Forwarded-*, the credential,
 * X-Request-Id, ...) cost ~0.5 µs of the event loop's time per request (proxy-bench profile).
 * A name is skipped only when it is one of these very objects, so every other name, whatever it
 * spells, still gets Netty's check; values are always checked.
 */
public final class HeaderNameValidation implements DefaultHeaders.NameValidator<CharSequence> {
    /** The decoders' headers: Netty's defaults with this validation. */
    public static final HttpHeadersFactory HEADERS = DefaultHttpHeadersFactory.headersFactory()
            .withNameValidator(new HeaderNameValidation(DefaultHttpHeadersFactory.headersFactory().getNameValidator()));

    private static final Set<CharSequence> OURS = Collections.newSetFromMap(new IdentityHashMap<>());

    static {
        OURS.addAll(List.of(HttpHeaderNames.HOST, HttpHeaderNames.AUTHORIZATION, HttpHeaderNames.TRANSFER_ENCODING,
                HttpHeaderNames.CONNECTION, HttpHeaderNames.CONTENT_LENGTH, HttpHeaderNames.UPGRADE,
                HttpHeaderNames.SEC_WEBSOCKET_PROTOCOL, HttpHeaderNames.RETRY_AFTER, HttpHeaderNames.VARY,
                HttpHeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, HttpHeaderNames.ACCESS_CONTROL_EXPOSE_HEADERS,
                CredentialHandler.X_FORWARDED_FOR, CredentialHandler.X_FORWARDED_PROTO,
                Responses.REQUEST_ID, Responses.PROXY_DURATION,
                RateLimitHandler.LIMIT, RateLimitHandler.REMAINING, RateLimitHandler.RESET));
    }

    private final DefaultHeaders.NameValidator<CharSequence> netty;

    HeaderNameValidation(DefaultHeaders.NameValidator<CharSequence> netty) {
        this.netty = netty;
    }

    @Override
    public void validateName(CharSequence name) {
        if (!OURS.contains(name)) {
            netty.validateName(name);
        }
    }
}
