package dev.keyswap.usage;

import java.nio.charset.StandardCharsets;

/**
 * Splits a {@code text/event-stream} into lines and events as bytes arrive (lines may end in
 * LF, CRLF or CR, and may be split anywhere across chunks) and streams each event's {@code data}
 * straight into a {@link JsonUsageScanner}, so neither a line nor an event is ever collected.
 * Several data lines of one event are joined with LF, as the HTML SSE spec says; a blank line
 * ends the event and the scanner starts afresh for the next.
 */
final class SseEventReader {
    /** Longer than any field name we act on ("data", "event"); a longer name is ignored. */
    private static final int MAX_FIELD_BYTES = 8;
    /** Event names we compare against are short ("message_start", "response.completed"). */
    private static final int MAX_EVENT_NAME_BYTES = 64;
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
    private final byte[] eventName = new byte[MAX_EVENT_NAME_BYTES];

    private int lineState = FIELD;
    private int fieldLength;
    private boolean fieldTooLong;
    private int valueKind = IGNORED;
    private int eventNameLength;
    private boolean lastWasCarriageReturn;
    private boolean eventHasData;

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
                    int end = i;
                    while (end < to && src[end] != '\n' && src[end] != '\r') {
                        end++;
                    }
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
        return field.length + eventName.length;
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
            int n = Math.min(to - from, MAX_EVENT_NAME_BYTES - eventNameLength);
            System.arraycopy(src, from, eventName, eventNameLength, n);
            eventNameLength += n;
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
            scanner.eventName(new String(eventName, 0, eventNameLength, StandardCharsets.UTF_8));
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
    }

    private boolean isField(byte[] name) {
        if (fieldLength != name.length) {
            return false;
        }
        for (int i = 0; i < name.length; i++) {
            if (field[i] != name[i]) {
                return false;
            }
        }
        return true;
    }
}
