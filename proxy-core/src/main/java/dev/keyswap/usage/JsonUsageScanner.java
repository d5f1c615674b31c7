package dev.keyswap.usage;

import dev.keyswap.bytes.ByteScan;
import java.nio.charset.StandardCharsets;

/**
 * Reads usage fields from a stream of JSON text byte by byte, never collecting a document: the
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
 * <p>Anthropic's {@code cache_creation_input_tokens} and {@code cache_read_input_tokens} are added
 * to {@code input_tokens} of the same usage object: Anthropic counts them apart from it, so left
 * out they made a cached prompt's input, and its cost, look hundreds of times smaller. Added in,
 * input is every prompt token, as OpenAI's {@code prompt_tokens} (which holds its cached tokens)
 * and Gemini's {@code promptTokenCount} are; the price table has one input price, so cached
 * tokens are priced as input (reads are dearer than billed, writes cheaper). OpenAI's {@code
 * *_details} breakdowns are not added: their counts are inside the totals already.
 *
 * <p>The end of the first JSON value, or malformed input, stops extraction until the next {@link
 * #reset()}; whatever was found before it is kept.
 *
 * <p>A piece that holds a whole document is read by recursive descent ({@link #readWhole}), which
 * takes the same steps the byte-at-a-time machine does and gives the piece back to it for anything
 * out of the ordinary.
 *
 * <h2>Why not Jackson</h2>
 *
 * This is a purpose-built tokenizer: it runs on the event loop for every streamed event, so it
 * reads the bytes in place, once, and allocates nothing unless a model name changes (a content
 * chunk of an OpenAI stream costs a few hundred ns; Jackson's non-blocking parser cost several
 * µs and 1–2 KB per event, see docs/performance-jmh.md). It accepts exactly RFC 8259 JSON the
 * way Jackson's defaults did: no comments, trailing commas, leading zeros, unescaped control
 * characters, unknown escapes or malformed UTF-8 (lead bytes 0xC0–0xF7 with the right number of
 * continuation bytes); nesting deeper than {@value #MAX_NESTING_DEPTH} or a number longer than
 * {@value #MAX_NUMBER_CHARS} characters stops it, as does an integer we read that does not fit a
 * {@code long} (Jackson's {@code getLongValue} threw). Only names that can matter (those of the
 * tracked containers: document, usage, response, message) are looked at, and only the values of
 * {@code model}, {@code modelVersion} and {@code type} are kept.
 *
 * <h2>Memory</h2>
 *
 * Bounded whatever the input: {@value #TRACKED_DEPTH} + 1 role bytes, a 256-bit array/object
 * stack (32 bytes) and a capture buffer for one kept string. That buffer starts at {@value
 * #CAPTURE_INITIAL} bytes, which every name we match and every real model name fits, and grows
 * only for a longer kept value, to at most {@value #CAPTURE_MAX} bytes: kept values are clipped to
 * their first {@value JsonStringClipper#MAX_STRING_BYTES} bytes by {@link JsonStringClipper}'s
 * rule (never inside a character or an escape), the same prefix Jackson used to be shown. Strings
 * we do not keep are skipped however long they are.
 */
final class JsonUsageScanner {
    static final int MAX_NESTING_DEPTH = 256;
    static final int MAX_NUMBER_CHARS = 1000;
    private static final int CAPTURE_INITIAL = 64;
    /** Clipped output never passes MAX_STRING_BYTES + 11 (a surrogate pair's two escapes). */
    private static final int CAPTURE_MAX = JsonStringClipper.MAX_STRING_BYTES + 16;
    /** Raw bytes of a name we may act on; "candidatesTokenCount" with every byte escaped is 120. */
    private static final int MAX_NAME_BYTES = 128;

    // Where the tokenizer is.
    private static final int AWAITING_START = 0;
    private static final int STOPPED = 1;
    private static final int NAME_OR_END = 2; // after '{'
    private static final int NAME = 3; // after ',' in an object
    private static final int COLON = 4;
    private static final int VALUE = 5; // after ':', or ',' in an array
    private static final int VALUE_OR_END = 6; // after '['
    private static final int AFTER_VALUE = 7; // ',' or the container's end
    private static final int STRING = 8;
    private static final int NUMBER = 9;
    private static final int LITERAL = 10;

    // Inside a string.
    private static final int STR_PLAIN = 0;
    private static final int STR_ESCAPE = 1;
    private static final int STR_HEX = 2;
    private static final int STR_UTF8 = 3;

    // Inside a number.
    private static final int NUM_MINUS = 0;
    private static final int NUM_ZERO = 1;
    private static final int NUM_INT = 2;
    private static final int NUM_DOT = 3;
    private static final int NUM_FRACTION = 4;
    private static final int NUM_E = 5;
    private static final int NUM_EXPONENT_SIGN = 6;
    private static final int NUM_EXPONENT = 7;

    // What is being kept of the current string.
    private static final int KEEP_NONE = 0;
    private static final int KEEP_NAME = 1;
    private static final int KEEP_MODEL = 2;
    private static final int KEEP_TYPE = 3;
    private static final int KEEP_NESTED_MODEL = 4;

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

    // Names we act on; NAMES[id - 1] spells name id.
    private static final int N_NONE = 0;
    private static final int N_MODEL = 1;
    private static final int N_MODEL_VERSION = 2;
    private static final int N_TYPE = 3;
    private static final int N_USAGE = 4;
    private static final int N_USAGE_METADATA = 5;
    private static final int N_RESPONSE = 6;
    private static final int N_MESSAGE = 7;
    private static final int N_PROMPT_TOKENS = 8;
    private static final int N_INPUT_TOKENS = 9;
    private static final int N_PROMPT_TOKEN_COUNT = 10;
    private static final int N_COMPLETION_TOKENS = 11;
    private static final int N_OUTPUT_TOKENS = 12;
    private static final int N_CANDIDATES_TOKEN_COUNT = 13;
    private static final int N_THOUGHTS_TOKEN_COUNT = 14;
    private static final int N_CACHE_CREATION_INPUT_TOKENS = 15;
    private static final int N_CACHE_READ_INPUT_TOKENS = 16;
    private static final byte[][] NAMES = ascii("model", "modelVersion", "type", "usage", "usageMetadata", "response",
            "message", "prompt_tokens", "input_tokens", "promptTokenCount", "completion_tokens", "output_tokens",
            "candidatesTokenCount", "thoughtsTokenCount", "cache_creation_input_tokens", "cache_read_input_tokens");
    private static final int[][] NAME_IDS_BY_LENGTH = nameIdsByLength();

    // An event's type (its data's "type", else its SSE event name), as far as it matters.
    static final byte TYPE_NONE = 0;
    static final byte TYPE_OTHER = 1;
    static final byte TYPE_MESSAGE_START = 2;
    static final byte TYPE_RESPONSE = 3; // starts with "response."
    static final byte[] MESSAGE_START = ascii("message_start")[0];
    static final byte[] RESPONSE_PREFIX = ascii("response.")[0];

    private static final byte[] TRUE = ascii("true")[0];
    private static final byte[] FALSE = ascii("false")[0];
    private static final byte[] NULL = ascii("null")[0];

    private final UsageFields fields;
    private final boolean rootArrayHoldsDocuments;
    private final byte[] roles = new byte[TRACKED_DEPTH + 1];
    /** Bit d set: the container at depth d is an array. */
    private final long[] arrays = new long[MAX_NESTING_DEPTH / 64 + 1];
    private final JsonStringClipper clipper = new JsonStringClipper();
    private byte[] capture = new byte[CAPTURE_INITIAL];

    private int state = AWAITING_START;
    private int depth;
    private int name = N_NONE;
    private byte eventType = TYPE_NONE;

    // The current string, number or literal.
    private boolean inName;
    private int stringState;
    private int pending; // hex digits or UTF-8 continuation bytes still to come
    private int keep;
    private int kept;
    private boolean keptTooMuch;
    /** The current string has had no escape and no byte of 0x80 or more so far. */
    private boolean keptPlain;
    private int numberState;
    private int numberChars;
    private boolean numberWanted;
    private boolean numberNegative;
    private boolean numberOverflow;
    private long numberValue; // negated while read, as Long.parseLong does
    private byte[] literal;
    private int literalIndex;

    // The document being read.
    private byte documentType;
    private byte nestedIn;
    private String nestedModel;
    private long nestedInput;
    private long nestedOutput;
    /** Anthropic's cache counts in the nested usage, added to {@link #nestedInput} when it is an {@code input_tokens}. */
    private long nestedCache;
    private boolean nestedInputTakesCache;
    /** The top-level usage's own input count (-1 until seen) and cache counts, summed into the input reported. */
    private long usageInput;
    private long usageCache;
    private long candidatesTokens;
    private long thoughtsTokens;
    private boolean usageHadInput;
    private boolean usageHadOutput;

    /**
     * @param rootArrayHoldsDocuments true for whole JSON bodies (a root array is a list of
     *     documents); false for SSE data, where each event is one object
     */
    JsonUsageScanner(UsageFields fields, boolean rootArrayHoldsDocuments) {
        this.fields = fields;
        this.rootArrayHoldsDocuments = rootArrayHoldsDocuments;
        startDocument();
    }

    /** The SSE event's name, classified: the fallback when an event's data has no {@code type}. */
    void eventType(byte type) {
        eventType = type;
    }

    /** A model has been reported by an earlier document or event. */
    boolean modelKnown() {
        return fields.model() != null;
    }

    boolean stopped() {
        return state == STOPPED;
    }

    /** Starts a new stream of JSON text (the next SSE event). */
    void reset() {
        eventType = TYPE_NONE;
        restart();
    }

    /** Back to before the first byte of a document, the event's type kept. */
    private void restart() {
        state = AWAITING_START;
        depth = 0;
        name = N_NONE;
        keep = KEEP_NONE;
        startDocument();
    }

    int retainedBytes() {
        return roles.length + arrays.length * Long.BYTES + capture.length;
    }

    void feed(byte[] src, int offset, int length) {
        int i = offset;
        final int end = offset + length;
        if (state == AWAITING_START && readWhole(src, offset, end)) {
            return;
        }
        while (i < end) {
            switch (state) {
                case STRING -> i = stringState == STR_PLAIN ? plainString(src, i, end) : string(src, i, end);
                case NUMBER -> i = number(src, i, end);
                case LITERAL -> i = literal(src, i, end);
                case STOPPED -> {
                    return;
                }
                default -> {
                    byte b = src[i];
                    if (isSpace(b)) {
                        i++;
                    } else {
                        structural(b);
                        i++;
                    }
                }
            }
        }
    }

    // --- a whole document in one piece

    /*
     * The common case, a body or an event that arrives whole, read by recursive descent. The
     * byte-at-a-time machine below goes round its loop and switches on its state at every token,
     * which a compact body is mostly made of: JMH, builds alternating, benchChatJson 1,135-1,214
     * -> 856-966 ns, a 2 KB chat completion 3,364-3,560 -> 2,522-2,794, OpenAI's usage chunk
     * 2,257-2,304 -> 1,516-1,670. Only what the machine would read the same way is read here, and
     * through the same steps (openObject, closeObject, nameId, keepFor, useKept, onInteger), so the
     * two agree by construction. Anything else (an escape or a byte of 0x80 or more in a name that
     * matters or a kept value, a negative or very long token count, a value cut off by the piece's
     * end, deep nesting, malformed JSON) gives the piece back to the machine from its first byte;
     * whatever was reported up to there is then reported again, the same, on the way to the same end.
     */

    /** A nesting depth the descent does not go past (the machine's own limit is MAX_NESTING_DEPTH). */
    private static final int WHOLE_MAX_DEPTH = 64;
    /** The longest token count read here: 18 digits always fit a long. */
    private static final int WHOLE_MAX_COUNT_DIGITS = 18;

    /**
     * Reads the piece as one whole document when it is one: true if it did (the scanner is then
     * stopped, as after any first value), false if the machine is to read the piece instead.
     */
    private boolean readWhole(byte[] src, int from, int end) {
        int i = skipSpace(src, from, end);
        if (i == end) {
            return false;
        }
        int b = src[i];
        if (b != '{' && !(b == '[' && rootArrayHoldsDocuments)) {
            return false; // a BOM, a bare value or a stray byte: the machine says what they mean
        }
        int last = end - 1;
        while (last > i && isSpace(src[last])) {
            last--;
        }
        if (src[last] != '}' && src[last] != ']') {
            return false; // most likely the first part of a longer body
        }
        if (wholeValue(src, i, end) >= 0) {
            return true;
        }
        restart();
        return false;
    }

    /** The value starting at {@code src[i]} (not whitespace): the index after it, or -1. */
    private int wholeValue(byte[] src, int i, int end) {
        int b = src[i];
        switch (b) {
            case '{':
                return wholeObject(src, i + 1, end);
            case '[':
                return wholeArray(src, i + 1, end);
            case '"':
                return wholeString(src, i + 1, end);
            case 't':
                return wholeLiteral(src, i, end, TRUE);
            case 'f':
                return wholeLiteral(src, i, end, FALSE);
            case 'n':
                return wholeLiteral(src, i, end, NULL);
            default:
                return wholeNumber(src, i, end);
        }
    }

    private int wholeObject(byte[] src, int i, int end) {
        if (depth >= WHOLE_MAX_DEPTH) {
            return -1;
        }
        openObject();
        i = skipSpace(src, i, end);
        if (i < end && src[i] == '}') {
            closeObject();
            return i + 1;
        }
        boolean namesMatter = role() != OTHER;
        while (i < end && src[i] == '"') {
            int from = i + 1;
            if (!namesMatter) {
                i = skipString(src, from, end);
                name = N_NONE;
            } else {
                int close = ByteScan.plainStringEnd(src, from, end);
                if (close == end || src[close] != '"') {
                    return -1;
                }
                name = nameId(src, from, close - from);
                i = close + 1;
            }
            if (i < 0 || (i = skipSpace(src, i, end)) == end || src[i] != ':'
                    || (i = skipSpace(src, i + 1, end)) == end || (i = wholeValue(src, i, end)) < 0
                    || (i = skipSpace(src, i, end)) == end) {
                return -1;
            }
            if (src[i] == '}') {
                closeObject();
                return i + 1;
            }
            if (src[i] != ',') {
                return -1;
            }
            i = skipSpace(src, i + 1, end);
        }
        return -1;
    }

    private int wholeArray(byte[] src, int i, int end) {
        if (depth >= WHOLE_MAX_DEPTH) {
            return -1;
        }
        openArray();
        i = skipSpace(src, i, end);
        if (i < end && src[i] == ']') {
            closeArray();
            return i + 1;
        }
        while (i < end) {
            if ((i = wholeValue(src, i, end)) < 0 || (i = skipSpace(src, i, end)) == end) {
                return -1;
            }
            if (src[i] == ']') {
                closeArray();
                return i + 1;
            }
            if (src[i] != ',') {
                return -1;
            }
            i = skipSpace(src, i + 1, end);
        }
        return -1;
    }

    /** A value string from after its opening quote: kept as the machine keeps it, when it is plain. */
    private int wholeString(byte[] src, int from, int end) {
        int k = keepFor(false);
        if (k == KEEP_NONE) {
            return skipString(src, from, end);
        }
        int close = ByteScan.plainStringEnd(src, from, end);
        if (close == end || src[close] != '"') {
            return -1;
        }
        startKeeping();
        keep = k;
        if (close > from) {
            keepBytes(src, from, close);
        }
        keep = KEEP_NONE;
        useKept(k);
        return close + 1;
    }

    /**
     * Past a string whose content does not matter, from after its opening quote, checked as
     * {@link #string} checks it: the index after its closing quote, or -1 (malformed, or not all here).
     */
    private static int skipString(byte[] src, int i, int end) {
        while (true) {
            i = ByteScan.plainStringEnd(src, i, end);
            if (i == end) {
                return -1;
            }
            int b = src[i];
            if (b == '"') {
                return i + 1;
            }
            if (b == '\\') {
                if (i + 1 == end) {
                    return -1;
                }
                int e = src[i + 1];
                if (e == 'u') {
                    if (end - i < 6) {
                        return -1;
                    }
                    for (int h = i + 2; h < i + 6; h++) {
                        if (Character.digit(src[h], 16) < 0) {
                            return -1;
                        }
                    }
                    i += 6;
                } else if (isSimpleEscape(e)) {
                    i += 2;
                } else {
                    return -1;
                }
            } else if (b >= 0) {
                return -1; // an unescaped control character
            } else {
                int continuations = continuationBytes(b);
                if (continuations == 0 || end - i <= continuations) {
                    return -1;
                }
                for (int c = i + 1; c <= i + continuations; c++) {
                    if ((src[c] & 0xC0) != 0x80) {
                        return -1;
                    }
                }
                i += 1 + continuations;
            }
        }
    }

    /** A number in RFC 8259's syntax that ends before the piece does; a token count is read if it is a plain integer. */
    private int wholeNumber(byte[] src, int i, int end) {
        final int from = i;
        if (src[i] == '-') {
            i++;
        }
        if (i == end) {
            return -1;
        }
        int digitsFrom = i;
        if (src[i] == '0') {
            i++;
        } else {
            i = skipDigits(src, i, end);
        }
        if (i == digitsFrom || (i < end && src[i] >= '0' && src[i] <= '9')) {
            return -1; // no digit, or a leading zero
        }
        int digitsTo = i;
        boolean integer = true;
        if (i < end && src[i] == '.') {
            integer = false;
            int fraction = i + 1;
            if ((i = skipDigits(src, fraction, end)) == fraction) {
                return -1;
            }
        }
        if (i < end && (src[i] == 'e' || src[i] == 'E')) {
            integer = false;
            i++;
            if (i < end && (src[i] == '+' || src[i] == '-')) {
                i++;
            }
            int exponent = i;
            if ((i = skipDigits(src, exponent, end)) == exponent) {
                return -1;
            }
        }
        if (i == end || i - from > MAX_NUMBER_CHARS) {
            return -1;
        }
        if (integer && numberWanted()) {
            if (digitsFrom != from || digitsTo - digitsFrom > WHOLE_MAX_COUNT_DIGITS) {
                return -1; // negative counts, and ones that may not fit a long: as the machine reads them
            }
            long value = 0;
            for (int d = digitsFrom; d < digitsTo; d++) {
                value = value * 10 + (src[d] - '0');
            }
            onInteger(value);
        }
        return i;
    }

    private static int skipDigits(byte[] src, int i, int end) {
        while (i < end && src[i] >= '0' && src[i] <= '9') {
            i++;
        }
        return i;
    }

    private static int wholeLiteral(byte[] src, int i, int end, byte[] word) {
        if (end - i < word.length || !spells(src, i, word)) {
            return -1;
        }
        return i + word.length;
    }

    private static int skipSpace(byte[] src, int i, int end) {
        while (i < end && isSpace(src[i])) {
            i++;
        }
        return i;
    }

    private static boolean isSpace(byte b) {
        return b == ' ' || b == '\n' || b == '\r' || b == '\t';
    }

    /** One byte that is not whitespace, outside strings, numbers and literals. */
    private void structural(int b) {
        switch (state) {
            case AWAITING_START -> {
                // Leading whitespace (and a UTF-8 BOM) is skipped; only an object, or an array of
                // documents, is read. Anything else ([DONE], pings, HTML error pages) costs nothing.
                int u = b & 0xFF;
                if (u == 0xEF || u == 0xBB || u == 0xBF) {
                    return;
                }
                if (b == '{') {
                    openObject();
                } else if (b == '[' && rootArrayHoldsDocuments) {
                    openArray();
                } else {
                    stop();
                }
            }
            case NAME_OR_END, NAME -> {
                if (b == '"') {
                    startString(true);
                } else if (b == '}' && state == NAME_OR_END) {
                    closeObject();
                } else {
                    stop();
                }
            }
            case COLON -> {
                if (b == ':') {
                    state = VALUE;
                } else {
                    stop();
                }
            }
            case VALUE, VALUE_OR_END -> {
                if (b == ']' && state == VALUE_OR_END) {
                    closeArray();
                } else {
                    startValue(b);
                }
            }
            default -> { // AFTER_VALUE
                boolean inArray = inArray();
                if (b == ',') {
                    state = inArray ? VALUE : NAME;
                } else if (b == '}' && !inArray) {
                    closeObject();
                } else if (b == ']' && inArray) {
                    closeArray();
                } else {
                    stop();
                }
            }
        }
    }

    private void startValue(int b) {
        switch (b) {
            case '{' -> openObject();
            case '[' -> openArray();
            case '"' -> startString(false);
            case 't' -> startLiteral(TRUE);
            case 'f' -> startLiteral(FALSE);
            case 'n' -> startLiteral(NULL);
            default -> {
                if (b == '-' || (b >= '0' && b <= '9')) {
                    startNumber(b);
                } else {
                    stop();
                }
            }
        }
    }

    // --- containers

    private void openObject() {
        if (depth == MAX_NESTING_DEPTH) {
            stop();
            return;
        }
        byte role = objectRole();
        push(role, false);
        state = NAME_OR_END;
    }

    private void openArray() {
        if (depth == MAX_NESTING_DEPTH) {
            stop();
            return;
        }
        push(depth == 0 && rootArrayHoldsDocuments ? ROOT_ARRAY : OTHER, true);
        state = VALUE_OR_END;
    }

    private void push(byte role, boolean array) {
        depth++;
        if (depth <= TRACKED_DEPTH) {
            roles[depth] = role;
        }
        long bit = 1L << (depth & 63);
        if (array) {
            arrays[depth >> 6] |= bit;
        } else {
            arrays[depth >> 6] &= ~bit;
        }
        name = N_NONE;
    }

    private boolean inArray() {
        return (arrays[depth >> 6] & (1L << (depth & 63))) != 0;
    }

    private void closeObject() {
        byte closing = role();
        if (closing == DOCUMENT) {
            endDocument();
        } else if (closing == USAGE && usageHadInput && !usageHadOutput) {
            fields.noOutputTokens();
        }
        pop();
    }

    private void closeArray() {
        pop();
    }

    private void pop() {
        depth--;
        name = N_NONE;
        if (depth == 0) {
            // A body (RFC 8259) or an event's data is one value: the rest is not read.
            stop();
        } else {
            state = AFTER_VALUE;
        }
    }

    private byte role() {
        return depth > TRACKED_DEPTH ? OTHER : roles[depth];
    }

    private byte objectRole() {
        if (depth == 0 || role() == ROOT_ARRAY) {
            startDocument();
            return DOCUMENT;
        }
        switch (role()) {
            case DOCUMENT:
                switch (name) {
                    case N_USAGE:
                        usageHadInput = false;
                        usageHadOutput = false;
                        usageInput = -1;
                        usageCache = 0;
                        return USAGE;
                    case N_USAGE_METADATA:
                        candidatesTokens = -1;
                        thoughtsTokens = -1;
                        return USAGE_METADATA;
                    case N_RESPONSE:
                        nestedIn = RESPONSE;
                        return RESPONSE;
                    case N_MESSAGE:
                        nestedIn = MESSAGE;
                        return MESSAGE;
                    default:
                        return OTHER;
                }
            case RESPONSE:
            case MESSAGE:
                return name == N_USAGE ? NESTED_USAGE : OTHER;
            default:
                return OTHER;
        }
    }

    // --- strings

    private void startString(boolean isName) {
        state = STRING;
        inName = isName;
        stringState = STR_PLAIN;
        keep = keepFor(isName);
        if (keep != KEEP_NONE) {
            startKeeping();
        }
    }

    /** What is kept of a string starting here: a name in a container whose names matter, or a value we read. */
    private int keepFor(boolean isName) {
        byte role = role();
        if (isName) {
            return role == OTHER ? KEEP_NONE : KEEP_NAME;
        }
        if (role == DOCUMENT) {
            return name == N_MODEL || name == N_MODEL_VERSION ? KEEP_MODEL : name == N_TYPE ? KEEP_TYPE : KEEP_NONE;
        }
        return (role == RESPONSE || role == MESSAGE) && name == N_MODEL ? KEEP_NESTED_MODEL : KEEP_NONE;
    }

    private void startKeeping() {
        kept = 0;
        keptTooMuch = false;
        keptPlain = true;
        clipper.startString();
    }

    /**
     * Most strings: plain ASCII up to a closing quote in the same piece, read here in a method
     * small enough for the JIT to inline into {@link #feed}; a name whose bytes all arrived in
     * this piece is matched where it lies, without the copy into {@link #capture}. Anything else
     * (an escape, a byte of 0x80 or more, a control character, the piece's end) goes to
     * {@link #string} from the same place.
     */
    private int plainString(byte[] src, int i, final int end) {
        int close = ByteScan.plainStringEnd(src, i, end);
        if (close == end || src[close] != '"') {
            return string(src, i, end);
        }
        if (keep == KEEP_NAME && kept == 0 && !keptTooMuch) {
            keep = KEEP_NONE;
            name = nameId(src, i, close - i);
            return afterName(src, close + 1, end);
        }
        if (keep != KEEP_NONE && close > i) {
            keepBytes(src, i, close);
        }
        endString();
        return inName ? afterName(src, close + 1, end) : close + 1;
    }

    /** Past a name's closing quote: a colon straight after it is taken here, saving a turn of {@link #feed}. */
    private int afterName(byte[] src, int i, int end) {
        if (i < end && src[i] == ':') {
            state = VALUE;
            return i + 1;
        }
        state = COLON;
        return i;
    }

    /** Reads string bytes from {@code i}; returns where it stopped (past the closing quote, or end). */
    private int string(byte[] src, int i, final int end) {
        final int start = i;
        int s = stringState;
        scan:
        while (i < end) {
            int b = src[i];
            switch (s) {
                case STR_PLAIN -> {
                    // The bulk of every string: printable ASCII, skipped eight bytes at a time.
                    i = ByteScan.plainStringEnd(src, i, end);
                    if (i == end) {
                        break scan;
                    }
                    b = src[i];
                    if (b == '"') {
                        break scan;
                    }
                    keptPlain = false;
                    if (b == '\\') {
                        s = STR_ESCAPE;
                    } else if (b >= 0) { // an unescaped control character
                        stop();
                        return end;
                    } else {
                        pending = continuationBytes(b);
                        if (pending == 0) { // a continuation byte, or no UTF-8 lead byte at all
                            stop();
                            return end;
                        }
                        s = STR_UTF8;
                    }
                }
                case STR_ESCAPE -> {
                    if (b == 'u') {
                        pending = 4;
                        s = STR_HEX;
                    } else if (isSimpleEscape(b)) {
                        s = STR_PLAIN;
                    } else {
                        stop();
                        return end;
                    }
                }
                case STR_HEX -> {
                    if (Character.digit(b, 16) < 0) {
                        stop();
                        return end;
                    }
                    if (--pending == 0) {
                        s = STR_PLAIN;
                    }
                }
                default -> { // STR_UTF8
                    if ((b & 0xC0) != 0x80) {
                        stop();
                        return end;
                    }
                    if (--pending == 0) {
                        s = STR_PLAIN;
                    }
                }
            }
            i++;
        }
        stringState = s;
        if (keep != KEEP_NONE && i > start) {
            keepBytes(src, start, i);
        }
        if (i == end) {
            return end;
        }
        endString(); // src[i] is the closing quote
        return i + 1;
    }

    /** The character after a backslash is one of JSON's two-character escapes (the other is backslash-u). */
    private static boolean isSimpleEscape(int b) {
        return b == '"' || b == '\\' || b == '/' || b == 'b' || b == 'f' || b == 'n' || b == 'r' || b == 't';
    }

    /** How many continuation bytes follow this UTF-8 lead byte: 1 to 3, or 0 if it leads no character. */
    private static int continuationBytes(int b) {
        return (b & 0xE0) == 0xC0 ? 1 : (b & 0xF0) == 0xE0 ? 2 : (b & 0xF8) == 0xF0 ? 3 : 0;
    }

    private void keepBytes(byte[] src, int from, int to) {
        if (keep == KEEP_NAME) {
            int n = to - from;
            if (keptTooMuch || kept + n > MAX_NAME_BYTES) {
                keptTooMuch = true; // longer than any name we act on
                return;
            }
            ensureCapture(kept + n);
            System.arraycopy(src, from, capture, kept, n);
            kept += n;
            return;
        }
        ensureCapture((int) Math.min((long) kept + (to - from), CAPTURE_MAX));
        kept += clipper.clip(src, from, to, capture, kept);
    }

    private void ensureCapture(int size) {
        if (size > capture.length) {
            byte[] bigger = new byte[Math.min(Math.max(size, 2 * capture.length), CAPTURE_MAX)];
            System.arraycopy(capture, 0, bigger, 0, kept);
            capture = bigger;
        }
    }

    private void endString() {
        int k = keep;
        keep = KEEP_NONE;
        if (inName) {
            name = k == KEEP_NAME && !keptTooMuch ? nameId() : N_NONE;
            state = COLON;
            return;
        }
        state = AFTER_VALUE;
        useKept(k);
    }

    /** A kept value string has ended: it is the model, the event's type, or a nested model. */
    private void useKept(int k) {
        switch (k) {
            case KEEP_MODEL -> fields.model(keptString());
            case KEEP_TYPE -> documentType = keptType();
            case KEEP_NESTED_MODEL -> nestedModel = keptString();
            default -> { }
        }
    }

    /** Which name the kept bytes spell (escapes decoded), or N_NONE. */
    private int nameId() {
        if (!plainAscii()) {
            byte[] decoded = decode().getBytes(StandardCharsets.UTF_8);
            return nameId(decoded, 0, decoded.length);
        }
        return nameId(capture, 0, kept);
    }

    /** Which name {@code bytes[from, from + length)} spells, or N_NONE. */
    private static int nameId(byte[] bytes, int from, int length) {
        if (length >= NAME_IDS_BY_LENGTH.length) {
            return N_NONE;
        }
        for (int id : NAME_IDS_BY_LENGTH[length]) {
            if (spells(bytes, from, NAMES[id - 1])) {
                return id;
            }
        }
        return N_NONE;
    }

    /** NAME_IDS_BY_LENGTH[n]: the ids of the names n bytes long (most lengths have none or one). */
    private static int[][] nameIdsByLength() {
        int longest = 0;
        for (byte[] n : NAMES) {
            longest = Math.max(longest, n.length);
        }
        int[][] byLength = new int[longest + 1][];
        for (int length = 0; length <= longest; length++) {
            int l = length;
            byLength[length] = java.util.stream.IntStream.rangeClosed(1, NAMES.length)
                    .filter(id -> NAMES[id - 1].length == l).toArray();
        }
        return byLength;
    }

    /**
     * The kept value; for plain ASCII, the current model's String itself when it spells the same,
     * else the String {@link ModelNames} gave out for the same name before (no allocation).
     */
    private String keptString() {
        if (plainAscii()) {
            String current = fields.model();
            if (current != null && ModelNames.spells(current, capture, kept)) {
                return current;
            }
            return ModelNames.of(capture, kept);
        }
        return decode();
    }

    private byte keptType() {
        if (plainAscii()) {
            return classifyType(capture, kept);
        }
        byte[] decoded = decode().getBytes(StandardCharsets.UTF_8);
        return classifyType(decoded, decoded.length);
    }

    /** TYPE_MESSAGE_START, TYPE_RESPONSE or TYPE_OTHER for a type or event name spelled in UTF-8. */
    static byte classifyType(byte[] bytes, int length) {
        if (length == MESSAGE_START.length && spells(bytes, 0, MESSAGE_START)) {
            return TYPE_MESSAGE_START;
        }
        if (length >= RESPONSE_PREFIX.length && spells(bytes, 0, RESPONSE_PREFIX)) {
            return TYPE_RESPONSE;
        }
        return TYPE_OTHER;
    }

    /** The kept bytes are the string's characters as they are (ASCII, no escapes): no decoding needed. */
    private boolean plainAscii() {
        return keptPlain;
    }

    /** The kept raw string contents with escapes and UTF-8 decoded (rare: names and models are ASCII). */
    private String decode() {
        StringBuilder out = new StringBuilder(kept);
        int plainFrom = 0;
        int j = 0;
        while (j < kept) {
            if (capture[j] != '\\') {
                j++;
                continue;
            }
            out.append(new String(capture, plainFrom, j - plainFrom, StandardCharsets.UTF_8));
            byte e = capture[j + 1];
            switch (e) {
                case 'b' -> out.append('\b');
                case 'f' -> out.append('\f');
                case 'n' -> out.append('\n');
                case 'r' -> out.append('\r');
                case 't' -> out.append('\t');
                case 'u' -> {
                    out.append((char) Integer.parseInt(new String(capture, j + 2, 4, StandardCharsets.ISO_8859_1), 16));
                    j += 4;
                }
                default -> out.append((char) e); // " \ /
            }
            j += 2;
            plainFrom = j;
        }
        out.append(new String(capture, plainFrom, kept - plainFrom, StandardCharsets.UTF_8));
        return out.toString();
    }

    // --- numbers and literals

    private void startNumber(int b) {
        state = NUMBER;
        numberChars = 1;
        numberValue = 0;
        numberOverflow = false;
        numberNegative = b == '-';
        numberWanted = numberWanted();
        if (numberNegative) {
            numberState = NUM_MINUS;
        } else if (b == '0') {
            numberState = NUM_ZERO;
        } else {
            numberState = NUM_INT;
            numberValue = -(b - '0');
        }
    }

    /** A number starting here is a token count we read. */
    private boolean numberWanted() {
        byte role = role();
        return (role == USAGE || role == USAGE_METADATA || role == NESTED_USAGE)
                && name >= N_PROMPT_TOKENS && name <= N_CACHE_READ_INPUT_TOKENS;
    }

    private int number(byte[] src, int i, final int end) {
        while (i < end) {
            int b = src[i];
            int digit = b - '0';
            boolean isDigit = digit >= 0 && digit <= 9;
            switch (numberState) {
                case NUM_MINUS -> {
                    if (!isDigit) {
                        stop();
                        return end;
                    }
                    numberState = digit == 0 ? NUM_ZERO : NUM_INT;
                    numberValue = -digit;
                }
                case NUM_ZERO, NUM_INT -> {
                    if (isDigit) {
                        if (numberState == NUM_ZERO) { // leading zeros are not JSON
                            stop();
                            return end;
                        }
                        if (numberWanted && !numberOverflow) {
                            long v = numberValue;
                            if (v < Long.MIN_VALUE / 10 || (v = v * 10) < Long.MIN_VALUE + digit) {
                                numberOverflow = true;
                            } else {
                                numberValue = v - digit;
                            }
                        }
                    } else if (b == '.') {
                        numberState = NUM_DOT;
                    } else if (b == 'e' || b == 'E') {
                        numberState = NUM_E;
                    } else {
                        endNumber(true);
                        return i; // the byte that ended the number is read as structure
                    }
                }
                case NUM_DOT, NUM_EXPONENT_SIGN -> {
                    if (!isDigit) {
                        stop();
                        return end;
                    }
                    numberState = numberState == NUM_DOT ? NUM_FRACTION : NUM_EXPONENT;
                }
                case NUM_FRACTION -> {
                    if (b == 'e' || b == 'E') {
                        numberState = NUM_E;
                    } else if (!isDigit) {
                        endNumber(false);
                        return i;
                    }
                }
                case NUM_E -> {
                    if (b == '+' || b == '-') {
                        numberState = NUM_EXPONENT_SIGN;
                    } else if (isDigit) {
                        numberState = NUM_EXPONENT;
                    } else {
                        stop();
                        return end;
                    }
                }
                default -> { // NUM_EXPONENT
                    if (!isDigit) {
                        endNumber(false);
                        return i;
                    }
                }
            }
            if (++numberChars > MAX_NUMBER_CHARS) {
                stop();
                return end;
            }
            i++;
        }
        return end;
    }

    private void endNumber(boolean integer) {
        state = AFTER_VALUE;
        if (!integer || !numberWanted) {
            return; // floats, and numbers under names we do not read
        }
        if (numberOverflow || (!numberNegative && numberValue == Long.MIN_VALUE)) {
            stop(); // as Jackson's getLongValue refused it
            return;
        }
        onInteger(numberNegative ? numberValue : -numberValue);
    }

    private void startLiteral(byte[] word) {
        state = LITERAL;
        literal = word;
        literalIndex = 1;
    }

    private int literal(byte[] src, int i, final int end) {
        while (i < end) {
            if (src[i] != literal[literalIndex]) {
                stop();
                return end;
            }
            i++;
            if (++literalIndex == literal.length) {
                state = AFTER_VALUE;
                return i;
            }
        }
        return end;
    }

    // --- what the values mean

    private void onInteger(long value) {
        if (value < 0) {
            return;
        }
        byte role = role();
        boolean input = name == N_PROMPT_TOKENS || name == N_INPUT_TOKENS || name == N_PROMPT_TOKEN_COUNT;
        boolean cache = name == N_CACHE_CREATION_INPUT_TOKENS || name == N_CACHE_READ_INPUT_TOKENS;
        if (cache) {
            if (role == NESTED_USAGE) {
                nestedCache = plus(nestedCache, value);
            } else if (role == USAGE) {
                usageCache = plus(usageCache, value);
                if (usageInput >= 0) {
                    fields.inputTokens(plus(usageInput, usageCache));
                }
            }
        } else if (role == NESTED_USAGE) {
            if (input) {
                nestedInput = value;
                nestedInputTakesCache = name == N_INPUT_TOKENS;
            } else {
                nestedOutput = value;
            }
        } else if (input) {
            // Only Anthropic's input_tokens leaves its cache counts out; OpenAI's prompt_tokens
            // (also as relayed by gateways that add cache_* beside it) holds them already.
            usageHadInput = true;
            boolean takesCache = role == USAGE && name == N_INPUT_TOKENS;
            usageInput = takesCache ? value : -1;
            fields.inputTokens(takesCache ? plus(value, usageCache) : value);
        } else if (role == USAGE_METADATA) {
            if (name == N_CANDIDATES_TOKEN_COUNT) {
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
        documentType = TYPE_NONE;
        nestedIn = OTHER;
        nestedModel = null;
        nestedInput = -1;
        nestedOutput = -1;
        nestedCache = 0;
        nestedInputTakesCache = false;
        candidatesTokens = -1;
        thoughtsTokens = -1;
    }

    private void endDocument() {
        byte type = documentType != TYPE_NONE ? documentType : eventType;
        boolean counts = nestedIn == RESPONSE ? type == TYPE_RESPONSE : nestedIn == MESSAGE && type == TYPE_MESSAGE_START;
        if (counts) {
            fields.model(nestedModel);
            if (nestedInput >= 0) {
                fields.inputTokens(nestedInputTakesCache ? plus(nestedInput, nestedCache) : nestedInput);
            }
            if (nestedOutput >= 0) {
                fields.outputTokens(nestedOutput);
            }
        }
        startDocument();
    }

    private void stop() {
        state = STOPPED;
        keep = KEEP_NONE;
    }

    /**
     * {@code bytes} hold {@code word} from {@code from} (the caller knows they are long enough).
     * Byte by byte: the words are short and most differ at the first byte, where Arrays.equals
     * spent more setting up its vectorized compare than comparing.
     */
    private static boolean spells(byte[] bytes, int from, byte[] word) {
        for (int j = 0; j < word.length; j++) {
            if (bytes[from + j] != word[j]) {
                return false;
            }
        }
        return true;
    }

    private static byte[][] ascii(String... words) {
        byte[][] out = new byte[words.length][];
        for (int j = 0; j < words.length; j++) {
            out[j] = words[j].getBytes(StandardCharsets.US_ASCII);
        }
        return out;
    }

    /** Two counts (neither negative) added, held at Long.MAX_VALUE rather than wrapping to a negative count. */
    private static long plus(long a, long b) {
        long sum = a + b;
        return sum < 0 ? Long.MAX_VALUE : sum;
    }
}
