package dev.keyswap.usage;

import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.FastThreadLocal;

/**
 * Reads model and token counts out of a response body as it streams past, without holding the
 * body: JSON bodies (OpenAI, Anthropic, Gemini shapes) and SSE streams (each provider's events).
 * One instance per response at a time, used on that response's event loop only (a connection's
 * responses may share one, reset in between: {@link PerConnection}).
 *
 * <p>Memory is bounded whatever the body size, and nothing is allocated per SSE event once the
 * stream's model is known. An extractor's own state is about 110 bytes of buffers
 * ({@link #retainedBytes()}: SSE field name 8, container roles 5, array/object stack 32, kept-string
 * buffer 64), the kept-string buffer growing to at most ~1 KiB only for a model or type value that
 * long ({@link JsonUsageScanner}); the 4 KiB copy scratch for direct buffers is per thread, shared
 * by every response on an event loop. {@link #RETAINED_BYTES_CAP} is the documented ceiling.
 *
 * <p>Embeddings report only input tokens; their output count is 0.
 */
public final class UsageExtractor {
    /** The most one extractor may hold, parser state included; tests hold us to it. */
    static final int RETAINED_BYTES_CAP = 64 * 1024;

    private static final int COPY_BYTES = 4096;

    /**
     * Copies of direct and composite buffers; per thread because an extractor never re-enters.
     * A FastThreadLocal like the other per-thread scratch arrays (an array index on Netty's event
     * loop threads, where a ThreadLocal is a hash lookup at every chunk of a stream). Not shared
     * with the upstream reader's head scratch: the scan runs inside that reader's read.
     */
    private static final FastThreadLocal<byte[]> COPY = new FastThreadLocal<>() {
        @Override
        protected byte[] initialValue() {
            return new byte[COPY_BYTES];
        }
    };

    /** Keeps no state, so every response with an unmetered content type shares it. */
    private static final UsageExtractor NO_OP = new UsageExtractor(null, null, null);

    private final UsageFields fields;
    private final JsonUsageScanner json;
    private final SseEventReader sse;

    private UsageExtractor(UsageFields fields, JsonUsageScanner json, SseEventReader sse) {
        this.fields = fields;
        this.json = json;
        this.sse = sse;
    }

    /** The extractor for a response's Content-Type (application/json, text/event-stream, else a no-op). */
    public static UsageExtractor forContentType(String contentType) {
        return switch (kind(contentType)) {
            case SSE -> newSse();
            case JSON -> newJson();
            default -> NO_OP;
        };
    }

    /**
     * One connection's extractors, handed out again, reset, for each of its responses instead of
     * made anew: seven objects (~380 bytes) per response were most of an empty body's 66-71 ns in
     * JMH, and fresh memory besides. Responses on a connection follow one another, so an extractor
     * handed out is done with (its result taken) before the next {@link #forContentType} call;
     * confined to the connection's event loop.
     */
    public static final class PerConnection {
        private UsageExtractor json;
        private UsageExtractor sse;

        /** As {@link UsageExtractor#forContentType}; invalidates the extractor this gave out before. */
        public UsageExtractor forContentType(String contentType) {
            return switch (kind(contentType)) {
                case SSE -> sse == null ? sse = newSse() : sse.reset();
                case JSON -> json == null ? json = newJson() : json.reset();
                default -> NO_OP;
            };
        }
    }

    private enum Kind { SSE, JSON, OTHER }

    private static Kind kind(String contentType) {
        if (contentType == null) {
            return Kind.OTHER;
        }
        int end = contentType.indexOf(';');
        if (end < 0) {
            end = contentType.length();
        }
        int start = 0;
        while (start < end && contentType.charAt(start) <= ' ') {
            start++;
        }
        while (end > start && contentType.charAt(end - 1) <= ' ') {
            end--;
        }
        if (isMediaType(contentType, start, end, "text/event-stream")) {
            return Kind.SSE;
        }
        if (isMediaType(contentType, start, end, "application/json")
                || (contentType.regionMatches(true, start, "application/", 0, 12)
                        && contentType.regionMatches(true, end - 5, "+json", 0, 5))) {
            return Kind.JSON;
        }
        return Kind.OTHER;
    }

    private static UsageExtractor newSse() {
        UsageFields fields = new UsageFields();
        JsonUsageScanner scanner = new JsonUsageScanner(fields, false);
        return new UsageExtractor(fields, scanner, new SseEventReader(scanner));
    }

    private static UsageExtractor newJson() {
        UsageFields fields = new UsageFields();
        return new UsageExtractor(fields, new JsonUsageScanner(fields, true), null);
    }

    /** As made: nothing read, nothing found. */
    private UsageExtractor reset() {
        fields.clear();
        if (sse != null) {
            sse.reset(); // and its scanner
        } else {
            json.reset();
        }
        return this;
    }

    /** Looks at the readable bytes; never changes the buffer's indices or reference count. */
    public void onContent(ByteBuf content) {
        onContent(content, content.readerIndex(), content.readableBytes());
    }

    /** Looks at {@code content[index, index + length)}; never changes the buffer's indices or reference count. */
    public void onContent(ByteBuf content, int index, int length) {
        if (json == null || (sse == null && json.stopped())) {
            return;
        }
        final int end = index + length;
        if (content.hasArray()) {
            accept(content.array(), content.arrayOffset() + index, end - index);
            return;
        }
        byte[] copy = COPY.get();
        while (index < end) {
            int n = Math.min(end - index, COPY_BYTES);
            content.getBytes(index, copy, 0, n);
            accept(copy, 0, n);
            index += n;
        }
    }

    /** What was found so far (call after the last content). */
    public TokenUsage result() {
        return fields == null ? TokenUsage.NONE : fields.toTokenUsage();
    }

    /** Bytes held in this extractor's own buffers, which never grow. */
    int retainedBytes() {
        if (json == null) {
            return 0;
        }
        return json.retainedBytes() + (sse == null ? 0 : sse.retainedBytes());
    }

    private void accept(byte[] bytes, int offset, int length) {
        if (sse != null) {
            sse.accept(bytes, offset, offset + length);
        } else {
            json.feed(bytes, offset, length);
        }
    }

    private static boolean isMediaType(String contentType, int start, int end, String mediaType) {
        // As spelled by every provider first: the case-insensitive compare costs ~60 ns more.
        return end - start == mediaType.length() && (contentType.startsWith(mediaType, start)
                || contentType.regionMatches(true, start, mediaType, 0, end - start));
    }
}
