package dev.keyswap.pipeline;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RequestTargetValidatorTest {

    @ParameterizedTest
    @ValueSource(strings = {
        "/openai/v1/chat/completions",
        "/gemini/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse&key=abc",
        "/openai/v1/files/file-abc123/content",
        "/anthropic/v1/messages?beta=true",
        "/x/a%20b/c%3Ad",
        "/openai/v1/",
        "/openai",
        "/",
        "/a/.well-known/x",
        "/a/..b/c",
        "/a/b..",
        "/q?a=/../x",
        "/q?redirect=http%3A%2F%2Fexample",
        "/a/b;v=1/c",
        "/a/...;x/c",
        "/a/.x;y",
    })
    void acceptsOrdinaryTargets(String target) {
        assertNull(RequestTargetValidator.rejectReason(target), target);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "",
        "*",
        "openai/v1/chat",
        "/openai/../admin",
        "/openai/..",
        "/openai/./v1",
        "/openai/v1/.",
        "/..",
        "/openai/%2e%2e/admin",
        "/openai/%2E%2E/admin",
        "/openai/.%2e/admin",
        "/openai%2fv1/chat",
        "/openai/v1%2Fchat",
        "/openai/v1%5cchat",
        "/openai/v1\\chat",
        "/openai//v1/chat",
        "//openai/v1",
        "/openai/v1/chat#frag",
        "/openai/v1/ chat",
        "/openai/v1/\tchat",
        "/openai/v1/\u0000chat",
        "/openai/v1/\u007fchat",
        "/openai/v1/caf\u00e9",
        "/openai/v1/%00",
        "/openai/v1/%0a",
        "/openai/v1/%",
        "/openai/v1/%4",
        "/openai/v1/%zz",
        "/openai/v1/%25",
        "/openai/v1?x=a b",
        "/openai/v1?x=a#b",
        "/openai/v1?x=\u0001",
        // Dot segments with path parameters: Tomcat, Jetty and Spring drop the ';' part first.
        "/openai/v1/..;/admin",
        "/proxy/c/v1/models/..;/x",
        "/a/.;x/b",
        "/a/..;",
        "/a/.;",
    })
    void refusesAmbiguousOrDangerousTargets(String target) {
        assertNotNull(RequestTargetValidator.rejectReason(target), target);
    }
}
