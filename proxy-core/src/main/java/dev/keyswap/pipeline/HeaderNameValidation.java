package dev.keyswap.pipeline;

import io.netty.handler.codec.DefaultHeaders;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeadersFactory;
import java.util.List;

/**
 * Header-name validation for the request heads the client's decoder builds, minus the names
 * Keyswap sets on them itself (relayed responses are bytes, {@link ClientResponseHead}). Netty
 * checks a name on every {@code set} and {@code add}; ours are constants, valid by construction,
 * yet were checked again on every request (Host, X-Forwarded-*, the credential, ...): ~20 ns a
 * set (56 against 75 ns in a standalone loop).
 * A name is skipped only when it is one of these very objects, so every other name, whatever it
 * spells, still gets Netty's check; values are always checked.
 */
public final class HeaderNameValidation implements DefaultHeaders.NameValidator<CharSequence> {
    /** The decoders' headers: Netty's defaults with this validation. */
    public static final HttpHeadersFactory HEADERS = DefaultHttpHeadersFactory.headersFactory()
            .withNameValidator(new HeaderNameValidation(DefaultHttpHeadersFactory.headersFactory().getNameValidator()));

    /**
     * The names, by length: a decoded name (most calls) is ruled out by its length or by one or two
     * reference comparisons. An IdentityHashMap here cost as much as the validation it saved.
     */
    private static final CharSequence[][] OURS_BY_LENGTH = byLength(List.of(HttpHeaderNames.HOST,
            HttpHeaderNames.AUTHORIZATION, HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderNames.CONNECTION,
            HttpHeaderNames.CONTENT_LENGTH, HttpHeaderNames.UPGRADE, HttpHeaderNames.SEC_WEBSOCKET_PROTOCOL,
            CredentialStep.X_FORWARDED_FOR, CredentialStep.X_FORWARDED_PROTO));

    private final DefaultHeaders.NameValidator<CharSequence> netty;

    HeaderNameValidation(DefaultHeaders.NameValidator<CharSequence> netty) {
        this.netty = netty;
    }

    @Override
    public void validateName(CharSequence name) {
        int length = name.length();
        if (length < OURS_BY_LENGTH.length) {
            for (CharSequence ours : OURS_BY_LENGTH[length]) {
                if (ours == name) {
                    return;
                }
            }
        }
        netty.validateName(name);
    }

    private static CharSequence[][] byLength(List<CharSequence> names) {
        int longest = names.stream().mapToInt(CharSequence::length).max().orElse(0);
        CharSequence[][] out = new CharSequence[longest + 1][];
        for (int n = 0; n <= longest; n++) {
            int length = n;
            out[n] = names.stream().filter(name -> name.length() == length).toArray(CharSequence[]::new);
        }
        return out;
    }
}
