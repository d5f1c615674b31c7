package dev.keyswap.usage;

import io.netty.buffer.ByteBuf;

/**
 * Reads model and token counts out of a response body as it streams past, without holding the
 * body: JSON bodies (OpenAI, Anthropic, Gemini shapes) and SSE streams (each provider's events).
 * One instance per response, used on that response's event loop only.
 */
public final class UsageExtractor {

    /** The extractor for a response's Content-Type (application/json, text/event-stream, else a no-op). */
    public static UsageExtractor forContentType(String contentType) {
        throw new UnsupportedOperationException("TODO helper B");
    }

    /** Looks at the readable bytes; never changes the buffer's indices or reference count. */
    public void onContent(ByteBuf content) {
        throw new UnsupportedOperationException("TODO helper B");
    }

    /** What was found so far (call after the last content). */
    public TokenUsage result() {
        throw new UnsupportedOperationException("TODO helper B");
    }
}
