package dev.keyswap.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class HeaderNameValidationTest {

    @Test
    void keyswapsOwnNameConstantsSkipTheCheckAndEveryOtherNameGetsIt() {
        List<CharSequence> checked = new ArrayList<>();
        HeaderNameValidation validation = new HeaderNameValidation(checked::add);
        validation.validateName(CredentialStep.X_FORWARDED_PROTO);
        validation.validateName(HttpHeaderNames.HOST);
        validation.validateName(CredentialStep.X_FORWARDED_FOR);
        assertEquals(List.of(), checked);

        // The same spelling in another object is checked: only the constants are known to be valid.
        AsciiString lookalike = new AsciiString("x-forwarded-proto");
        validation.validateName(lookalike);
        validation.validateName("Host");
        validation.validateName("x-custom");
        assertEquals(List.of(lookalike, "Host", "x-custom"), checked);
    }

    @Test
    void theDecodersHeadersStillRefuseInvalidNamesAndValues() {
        HttpHeaders h = HeaderNameValidation.HEADERS.newHeaders();
        h.set(CredentialStep.X_FORWARDED_PROTO, "https").set(HttpHeaderNames.HOST, "api.openai.com").set("x-custom", "1");
        assertEquals("https", h.get("X-Forwarded-Proto"));
        for (String bad : new String[] {"bad name", "x\u0000y", "a:b", "", "x\ny", "caf\u00e9"}) {
            assertThrows(IllegalArgumentException.class, () -> h.set(bad, "v"), bad);
        }
        assertThrows(IllegalArgumentException.class, () -> h.set(CredentialStep.X_FORWARDED_PROTO, "a\r\nInjected: 1"));
    }
}
