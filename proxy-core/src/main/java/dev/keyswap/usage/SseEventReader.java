package dev.keyswap.usage;

import dev.keyswap.bytes.ByteScan;
import java.util.Arrays;

/**
 * Splits a {@code text/event-stream} into lines and events as bytes arrive (lines may end in
 * LF, CRLF or CR, and may be split anywhere across chunks) and streams each event's {@code data}
 * straight into a {@link JsonUsageScanner}, so neither a line nor an event is ever collected.
 * Several data lines of one event are joined with LF, as the HTML SSE spec says; a blank line
 * ends the event and the scanner starts afresh for the next.
 *
 * <p>State is a few ints and an 8-byte field-name buffer; the event name is never kept, only
 * matched as it streams past against the two names that matter ({@code message_start}, and the
 * {@code response.} prefix).
 *
 * <p>Most events of a stream carry no counts: OpenAI's content chunks ({@code "usage":null} when
 * the client asked for usage, no {@code usage} at all otherwise), Anthropic's content deltas,
 * the Responses API's text deltas. Once the stream's model is known, an event that lies whole in
 * the bytes at hand and whose bytes spell {@code usage} nowhere but in {@code "usage":null}, and
 * hold no backslash-u escape (which could spell a name in disguise), is passed over after a
 * search for its end, not read: reading one cost ~1.3 µs per OpenAI chunk
 * ({@code UsageExtractionBenchmark}), most of the CPU a streamed response costs Keyswap beyond the
 * relay. Such an event can change nothing but the model, and every provider repeats the model in
 * the events that carry counts, so what a stream reports is unchanged; a stream that renamed its
 * model only in events without counts would keep the first name.
 */
final class SseEventReader {
    /** Longer than any field name we act on ("data", "event"); a longer name is ignored. */
    private static final int MAX_FIELD_BYTES = 8;
    private static final byte[] LINE_FEED = {'\n'};
    private static final byte[] DATA_FIELD = {'d', 'a', 't', 'a'};
    private static final byte[] EVENT_FIELD = {'e', 'v', 'e', 'n', 't'};

    private static final int FIELD = 0;
    private static final int BEFORE_VALUE = 1;
    private static final int VALUE = 2;

    private static final int IGNORED = 0;
    private static final int DATA = 1;
    private static final int EVENT = 2;

    private final JsonUsageScanner scanner;
    private final byte[] field = new byte[MAX_FIELD_BYTES];

    private int lineState = FIELD;
    private int fieldLength;
    private boolean fieldTooLong;
    private int valueKind = IGNORED;
    private int eventNameLength;
    /** The event name so far may still be "message_start" / starts with "response.". */
    private boolean maybeMessageStart;
    private boolean maybeResponse;
    private boolean lastWasCarriageReturn;
    private boolean eventHasData;
    /** Some of the current event has been read (or judged unskippable): no more looking ahead. */
    private boolean eventBegun;

    SseEventReader(JsonUsageScanner scanner) {
        this.scanner = scanner;
    }

    void accept(byte[] src, int from, int to) {
        int i = from;
        while (i < to) {
            byte b = src[i];
            if (lastWasCarriageReturn) {
                lastWasCarriageReturn = false;
                if (b == '\n') { // the LF of a CRLF whose CR ended the previous chunk or line
                    i++;
                    continue;
                }
            }
            if (!eventBegun) {
                eventBegun = true;
                if (scanner.modelKnown()) {
                    int next = endOfEventWithoutCounts(src, i, to);
                    if (next >= 0) {
                        eventBegun = false;
                        i = next;
                        continue;
                    }
                }
            }
            switch (lineState) {
                case FIELD -> {
                    if (b == '\n' || b == '\r') {
                        endLine(b);
                    } else if (b == ':') {
                        startValue();
                    } else if (fieldLength < MAX_FIELD_BYTES) {
                        field[fieldLength++] = b;
                    } else {
                        fieldTooLong = true;
                    }
                    i++;
                }
                case BEFORE_VALUE -> {
                    lineState = VALUE;
                    if (b == ' ') { // one space after the colon is not part of the value
                        i++;
                    }
                }
                default -> {
                    int end = ByteScan.lineEnd(src, i, to);
                    onValue(src, i, end);
                    i = end;
                    if (end < to) {
                        endLine(src[end]);
                        i++;
                    }
                }
            }
        }
    }

    int retainedBytes() {
        return field.length;
    }

    /** As made, for the next stream: no line, no event, no event name under way. */
    void reset() {
        lineState = FIELD;
        fieldLength = 0;
        fieldTooLong = false;
        valueKind = IGNORED;
        maybeMessageStart = false;
        maybeResponse = false;
        lastWasCarriageReturn = false;
        dispatchEvent();
    }

    private void startValue() {
        lineState = BEFORE_VALUE;
        if (fieldTooLong) {
            valueKind = IGNORED;
        } else if (isField(DATA_FIELD)) {
            valueKind = DATA;
            if (eventHasData) {
                scanner.feed(LINE_FEED, 0, 1);
            }
            eventHasData = true;
        } else if (isField(EVENT_FIELD)) {
            valueKind = EVENT;
            eventNameLength = 0;
            maybeMessageStart = true;
            maybeResponse = true;
        } else {
            valueKind = IGNORED;
        }
    }

    private void onValue(byte[] src, int from, int to) {
        if (from == to) {
            return;
        }
        if (valueKind == DATA) {
            scanner.feed(src, from, to - from);
        } else if (valueKind == EVENT) {
            byte[] start = JsonUsageScanner.MESSAGE_START;
            byte[] response = JsonUsageScanner.RESPONSE_PREFIX;
            // Only the first bytes decide; past them the length saturates instead of wrapping.
            int decisive = Math.min(to, from + Math.max(0, start.length + 1 - eventNameLength));
            for (int i = from; i < decisive; i++) {
                int at = eventNameLength + i - from;
                maybeMessageStart &= at < start.length && src[i] == start[at];
                maybeResponse &= at >= response.length || src[i] == response[at];
            }
            eventNameLength = (int) Math.min((long) eventNameLength + (to - from), Integer.MAX_VALUE);
        }
    }

    private void endLine(byte terminator) {
        lastWasCarriageReturn = terminator == '\r';
        if (lineState == FIELD) {
            if (fieldLength == 0 && !fieldTooLong) {
                dispatchEvent();
                return;
            }
            startValue(); // a line without a colon is a field with an empty value
        }
        if (valueKind == EVENT) {
            scanner.eventType(maybeMessageStart && eventNameLength == JsonUsageScanner.MESSAGE_START.length
                    ? JsonUsageScanner.TYPE_MESSAGE_START
                    : maybeResponse && eventNameLength >= JsonUsageScanner.RESPONSE_PREFIX.length
                            ? JsonUsageScanner.TYPE_RESPONSE
                            : JsonUsageScanner.TYPE_OTHER);
        }
        lineState = FIELD;
        fieldLength = 0;
        fieldTooLong = false;
        valueKind = IGNORED;
    }

    private void dispatchEvent() {
        scanner.reset();
        eventHasData = false;
        eventNameLength = 0;
        eventBegun = false;
    }

    /**
     * If the event starting at {@code from} ends (with its blank line) before {@code to} and its
     * bytes can carry no counts, the index after that blank line (with the carriage-return state
     * set as reading it would have left it); else -1. One pass finds both the line ends and every
     * {@code u} to judge (JMH {@code openAiChunk}: 204 ns per OpenAI chunk, 250 as two passes).
     */
    private int endOfEventWithoutCounts(byte[] src, int from, int to) {
        int lineStart = from;
        int i = from;
        while (i < to) {
            int at = ByteScan.lineEndOr(src, i, to, (byte) 'u');
            if (at == to) {
                return -1; // the event goes on past these bytes
            }
            if (src[at] == 'u') {
                if (mayCarryCounts(src, from, at, to)) {
                    return -1;
                }
                i = at + 1;
                continue;
            }
            int after = at + 1;
            boolean crlf = src[at] == '\r' && after < to && src[after] == '\n';
            if (crlf) {
                after++;
            } else if (src[at] == '\r' && after == to) {
                return -1; // a CR at the very end: this line's end is not known yet
            }
            if (at == lineStart) { // a blank line: the event ends here
                lastWasCarriageReturn = src[at] == '\r' && !crlf;
                return after;
            }
            lineStart = after;
            i = after;
        }
        return -1;
    }

    private static final byte[] USAGE = {'u', 's', 'a', 'g', 'e'};
    private static final byte[] NULL_VALUE = {'"', ':', 'n', 'u', 'l', 'l'};

    /**
     * The {@code u} at {@code u} (of an event starting at {@code from}, in bytes up to {@code to})
     * spells {@code usage} other than in {@code "usage":null}, or ends a backslash-u escape. Words
     * hold no line end, so reading on to {@code to} rather than the event's end changes nothing.
     */
    private static boolean mayCarryCounts(byte[] src, int from, int u, int to) {
        if (u > from && src[u - 1] == '\\') {
            return true;
        }
        return startsWith(src, u, to, USAGE)
                && !(u > from && src[u - 1] == '"' && startsWith(src, u + USAGE.length, to, NULL_VALUE));
    }

    /** The bytes of {@code [at, to)} begin with {@code word}. */
    private static boolean startsWith(byte[] src, int at, int to, byte[] word) {
        return to - at >= word.length && Arrays.equals(src, at, at + word.length, word, 0, word.length);
    }

    private boolean isField(byte[] name) {
        return Arrays.equals(field, 0, fieldLength, name, 0, name.length);
    }
}
