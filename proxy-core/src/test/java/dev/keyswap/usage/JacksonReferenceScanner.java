package dev.keyswap.usage;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.async.ByteArrayFeeder;
import java.io.IOException;

/**
 * Reads usage fields from a stream of JSON text token by token, never collecting a document: the
 * body of an {@code application/json} response, or the data of one SSE event (with {@link
 * #reset()} between events).
 *
 * <p>A field counts only by where it sits, so a {@code "model"} key inside message content, tool
 * arguments or a tool schema is never mistaken for the response's model. Relative to a document
 * (the root object, or each element of a root array, which is how Gemini's non-SSE
 * streamGenerateContent arrives):
 *
 * <ul>
 *   <li>{@code model} or {@code modelVersion} (Gemini);
 *   <li>{@code usage.prompt_tokens | input_tokens} and {@code usage.completion_tokens |
 *       output_tokens} (OpenAI chat, embeddings, Responses; Anthropic);
 *   <li>{@code usageMetadata.promptTokenCount}, and {@code candidatesTokenCount +
 *       thoughtsTokenCount} as output (Gemini bills thinking tokens as output);
 *   <li>{@code response.model}, {@code response.usage.*} only in an event whose {@code type} (or
 *       SSE event name) starts with {@code response.} (OpenAI Responses streaming), and {@code
 *       message.model}, {@code message.usage.*} only in {@code message_start} (Anthropic). The
 *       event's type may come after these fields, so they are held until the document closes.
 * </ul>
 *
 * A top-level {@code usage} with input but no output tokens (embeddings) reports output 0, so
 * it can be priced; a stream that never reported output leaves it null.
 *
 * <p>Anthropic's {@code cache_creation_input_tokens} and {@code cache_read_input_tokens} are added to
 * the same usage object's {@code input_tokens}. Other cached-token breakdowns (OpenAI {@code *_details}) are
 * not added in: they are priced differently and the price table has one input price.
 *
 * <p>The end of the first JSON value, or malformed input, stops extraction until the next {@link
 * #reset()}; whatever was found before it is kept. Memory is bounded: strings reach Jackson clipped by {@link JsonStringClipper}, and
 * the constraints below make Jackson refuse (rather than buffer) anything longer or deeper.
 */
/**
 * The Jackson-based scanner this package used before the hand-written tokenizer (commit c4ef634),
 * kept in the tests as the reference: {@link JsonUsageScannerDifferentialTest} holds the new one to
 * the same answers on valid and damaged input.
 */
final class JacksonReferenceScanner {
    /** Largest slice handed to Jackson at once. */
    static final int FEED_BYTES = 4096;

    /**
     * Jackson reads fed bytes in place but is done with them once it asks for more (it copies
     * any token it is in the middle of), so the slice buffer is per thread, not per response:
     * thousands of idle streams on one event loop share one.
     */
    private static final ThreadLocal<byte[]> FEED = ThreadLocal.withInitial(() -> new byte[FEED_BYTES]);

    private static final int MAX_NESTING_DEPTH = 256;

    private static final JsonFactory JSON = JsonFactory.builder()
            // Every parser would otherwise add each distinct field name it meets to a table shared
            // through the factory; response bodies are not ours to trust with shared memory.
            .disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES)
            .disable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION)
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxStringLength(2 * JsonStringClipper.MAX_STRING_BYTES)
                    .maxNameLength(2 * JsonStringClipper.MAX_STRING_BYTES)
                    .maxNumberLength(1000)
                    .maxNestingDepth(MAX_NESTING_DEPTH)
                    .build())
            .build();

    private static final int AWAITING_START = 0;
    private static final int PARSING = 1;
    private static final int STOPPED = 2;

    // What the container at a given depth is, relative to the document being read.
    private static final byte OTHER = 0;
    private static final byte ROOT_ARRAY = 1;
    private static final byte DOCUMENT = 2;
    private static final byte USAGE = 3;
    private static final byte USAGE_METADATA = 4;
    private static final byte RESPONSE = 5;
    private static final byte MESSAGE = 6;
    private static final byte NESTED_USAGE = 7;

    /** Deepest container whose role matters (root array, document, response, usage); deeper is OTHER. */
    private static final int TRACKED_DEPTH = 4;

    private final UsageFields fields;
    private final boolean rootArrayHoldsDocuments;
    private final JsonStringClipper clipper = new JsonStringClipper();
    private final byte[] roles = new byte[TRACKED_DEPTH + 1];

    private int phase = AWAITING_START;
    private JsonParser parser;
    private ByteArrayFeeder feeder;
    private int depth;
    private String fieldName;
    private String eventName;

    // The document being read.
    private String documentType;
    private byte nestedIn;
    private String nestedModel;
    private Long nestedInput;
    private Long nestedOutput;
    private long nestedCache;
    private boolean nestedInputTakesCache;
    private Long usageInput;
    private long usageCache;
    private long candidatesTokens;
    private long thoughtsTokens;
    private boolean usageHadInput;
    private boolean usageHadOutput;

    /**
     * @param rootArrayHoldsDocuments true for whole JSON bodies (a root array is a list of
     *     documents); false for SSE data, where each event is one object
     */
    JacksonReferenceScanner(UsageFields fields, boolean rootArrayHoldsDocuments) {
        this.fields = fields;
        this.rootArrayHoldsDocuments = rootArrayHoldsDocuments;
    }

    /** The SSE event name, the fallback when an event's data has no {@code type}. */
    void eventName(String name) {
        eventName = name;
    }

    boolean stopped() {
        return phase == STOPPED;
    }

    /** Starts a new stream of JSON text (the next SSE event). */
    void reset() {
        closeParser();
        phase = AWAITING_START;
        clipper.reset();
        depth = 0;
        fieldName = null;
        eventName = null;
        startDocument();
    }

    void feed(byte[] src, int offset, int length) {
        int from = offset;
        final int end = offset + length;
        if (phase == AWAITING_START) {
            from = skipToStart(src, from, end);
        }
        byte[] feed = null;
        while (from < end && phase == PARSING) {
            if (feed == null) {
                feed = FEED.get();
            }
            int slice = Math.min(end - from, FEED_BYTES);
            int written = clipper.clip(src, from, from + slice, feed);
            from += slice;
            if (written > 0) {
                parse(feed, written);
            }
        }
    }

    int retainedBytes() {
        return roles.length;
    }

    /**
     * Skips leading whitespace (and a UTF-8 BOM) and starts a parser only when the text opens an
     * object, or an array of documents. Anything else ({@code [DONE]}, pings, HTML error pages)
     * is not a usage report and costs nothing further.
     */
    private int skipToStart(byte[] src, int from, int end) {
        for (int i = from; i < end; i++) {
            int b = src[i] & 0xFF;
            if (b == ' ' || b == '\n' || b == '\r' || b == '\t' || b == 0xEF || b == 0xBB || b == 0xBF) {
                continue;
            }
            if (b == '{' || (b == '[' && rootArrayHoldsDocuments)) {
                try {
                    parser = JSON.createNonBlockingByteArrayParser();
                    feeder = (ByteArrayFeeder) parser.getNonBlockingInputFeeder();
                    phase = PARSING;
                } catch (IOException e) {
                    stop();
                }
            } else {
                stop();
            }
            return i;
        }
        return end;
    }

    private void parse(byte[] feed, int length) {
        try {
            feeder.feedInput(feed, 0, length);
            JsonToken token;
            while ((token = parser.nextToken()) != null && token != JsonToken.NOT_AVAILABLE) {
                onToken(token);
                if (depth == 0) {
                    // A body (RFC 8259) or an event's data is one value: the rest is not read, and
                    // the parser's buffers go back to Jackson's pool now rather than at GC.
                    stop();
                    return;
                }
            }
        } catch (IOException | RuntimeException malformed) {
            // Includes Jackson's constraint violations. Keep what was found; read no further.
            stop();
        }
    }

    private void onToken(JsonToken token) throws IOException {
        switch (token) {
            case FIELD_NAME -> fieldName = role() == OTHER ? null : parser.currentName();
            case START_OBJECT -> enter(objectRole());
            case START_ARRAY -> enter(depth == 0 && rootArrayHoldsDocuments ? ROOT_ARRAY : OTHER);
            case END_OBJECT -> {
                byte closing = role();
                if (closing == DOCUMENT) {
                    endDocument();
                } else if (closing == USAGE && usageHadInput && !usageHadOutput) {
                    fields.noOutputTokens();
                }
                depth--;
                fieldName = null;
            }
            case END_ARRAY -> {
                depth--;
                fieldName = null;
            }
            case VALUE_STRING -> {
                if (fieldName != null) {
                    onString();
                }
            }
            case VALUE_NUMBER_INT -> {
                if (fieldName != null) {
                    onInteger();
                }
            }
            default -> { } // null, booleans, floats: nothing we read
        }
    }

    private byte role() {
        return depth > TRACKED_DEPTH ? OTHER : roles[depth];
    }

    private void enter(byte role) {
        depth++;
        if (depth <= TRACKED_DEPTH) {
            roles[depth] = role;
        }
        fieldName = null;
    }

    private byte objectRole() {
        if (depth == 0 || role() == ROOT_ARRAY) {
            startDocument();
            return DOCUMENT;
        }
        String name = fieldName;
        if (name == null) {
            return OTHER;
        }
        switch (role()) {
            case DOCUMENT:
                switch (name) {
                    case "usage":
                        usageHadInput = false;
                        usageHadOutput = false;
                        usageInput = null;
                        usageCache = 0;
                        return USAGE;
                    case "usageMetadata":
                        candidatesTokens = -1;
                        thoughtsTokens = -1;
                        return USAGE_METADATA;
                    case "response":
                        nestedIn = RESPONSE;
                        return RESPONSE;
                    case "message":
                        nestedIn = MESSAGE;
                        return MESSAGE;
                    default:
                        return OTHER;
                }
            case RESPONSE:
            case MESSAGE:
                return name.equals("usage") ? NESTED_USAGE : OTHER;
            default:
                return OTHER;
        }
    }

    private void onString() throws IOException {
        switch (role()) {
            case DOCUMENT:
                switch (fieldName) {
                    case "model", "modelVersion" -> fields.model(parser.getText());
                    case "type" -> documentType = parser.getText();
                    default -> { }
                }
                break;
            case RESPONSE:
            case MESSAGE:
                if (fieldName.equals("model")) {
                    nestedModel = parser.getText();
                }
                break;
            default:
                break;
        }
    }

    private void onInteger() throws IOException {
        byte role = role();
        if (role != USAGE && role != USAGE_METADATA && role != NESTED_USAGE) {
            return;
        }
        boolean input;
        boolean cache = false;
        switch (fieldName) {
            case "prompt_tokens", "input_tokens", "promptTokenCount" -> input = true;
            case "cache_creation_input_tokens", "cache_read_input_tokens" -> {
                input = false;
                cache = true;
            }
            case "completion_tokens", "output_tokens", "candidatesTokenCount", "thoughtsTokenCount" -> input = false;
            default -> {
                return;
            }
        }
        long value = parser.getLongValue();
        if (value < 0) {
            return;
        }
        if (cache) {
            if (role == NESTED_USAGE) {
                nestedCache = plus(nestedCache, value);
            } else if (role == USAGE) {
                usageCache = plus(usageCache, value);
                if (usageInput != null) {
                    fields.inputTokens(plus(usageInput, usageCache));
                }
            }
        } else if (role == NESTED_USAGE) {
            if (input) {
                nestedInput = value;
                nestedInputTakesCache = fieldName.equals("input_tokens");
            } else {
                nestedOutput = value;
            }
        } else if (input) {
            usageHadInput = true;
            boolean takesCache = role == USAGE && fieldName.equals("input_tokens");
            usageInput = takesCache ? value : null;
            fields.inputTokens(takesCache ? plus(value, usageCache) : value);
        } else if (role == USAGE_METADATA) {
            if (fieldName.equals("candidatesTokenCount")) {
                candidatesTokens = value;
            } else {
                thoughtsTokens = value;
            }
            fields.outputTokens(Math.max(candidatesTokens, 0) + Math.max(thoughtsTokens, 0));
        } else {
            usageHadOutput = true;
            fields.outputTokens(value);
        }
    }

    private void startDocument() {
        documentType = null;
        nestedIn = OTHER;
        nestedModel = null;
        nestedInput = null;
        nestedOutput = null;
        nestedCache = 0;
        nestedInputTakesCache = false;
        candidatesTokens = -1;
        thoughtsTokens = -1;
    }

    private void endDocument() {
        String type = documentType != null ? documentType : eventName;
        boolean counts = type != null
                && (nestedIn == RESPONSE ? type.startsWith("response.")
                        : nestedIn == MESSAGE && type.equals("message_start"));
        if (counts) {
            fields.model(nestedModel);
            if (nestedInput != null) {
                fields.inputTokens(nestedInputTakesCache ? plus(nestedInput, nestedCache) : nestedInput);
            }
            if (nestedOutput != null) {
                fields.outputTokens(nestedOutput);
            }
        }
        startDocument();
    }

    private void stop() {
        phase = STOPPED;
        closeParser();
    }

    private void closeParser() {
        if (parser != null) {
            try {
                parser.close(); // returns Jackson's recycled buffers
            } catch (IOException ignored) {
                // nothing to release beyond what close already did
            }
            parser = null;
            feeder = null;
        }
    }

    /** Two counts (neither negative) added, held at Long.MAX_VALUE rather than wrapping to a negative count. */
    private static long plus(long a, long b) {
        long sum = a + b;
        return sum < 0 ? Long.MAX_VALUE : sum;
    }
}
