package dev.keyswap.pipeline;

import dev.keyswap.usage.TokenUsage;
import dev.keyswap.usage.UsageExtractor;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/**
 * Reads the token usage an upstream reports inside a WebSocket session (OpenAI Realtime's
 * {@code response.done} events) from the upstream→client bytes as they pass, without holding
 * or changing them: frame headers are parsed incrementally (RFC 6455 §5.2), and a text message
 * is handed to the JSON usage scanner only when its first bytes name {@code response.done}.
 * Audio deltas, the bulk of a session, cost a header parse per frame and nothing more. Usage of
 * every {@code response.done} is summed over the session. Compressed messages (RSV1) are skipped.
 */
final class RealtimeUsageTap {
    private static final byte[] MARKER = "\"response.done\"".getBytes(StandardCharsets.US_ASCII);
    private static final int PREFIX = 160;
    static final int MAX_MODEL_CHARS = 128;
    /** A plain model name as the URL may give it: what a price table's keys are made of. */
    private static final Pattern MODEL_NAME = Pattern.compile("[A-Za-z0-9._:/-]{1," + MAX_MODEL_CHARS + "}");

    private final byte[] header = new byte[14];
    private int headerRead;
    private long payloadLeft;
    private boolean inPayload;
    private final byte[] mask = new byte[4];
    private boolean masked;
    private long payloadOffset;
    private boolean inTextMessage;
    private boolean compressed;
    private final byte[] prefix = new byte[PREFIX];
    private int prefixLen;
    private UsageExtractor extractor;
    private boolean decided;
    private boolean frameIsData;
    private boolean frameFin;

    private String model;
    private long inputTokens;
    private long outputTokens;
    private boolean reported;
    /**
     * The upstream broke the framing (a 64-bit length with its top bit set, RFC 6455 section
     * 5.2): nothing after it can be read as frames, so the tap stops looking. Read as a negative
     * length, that header once stepped the loop back onto itself forever, on the event loop.
     */
    private boolean lost;
    /** The model the session asked for in its URL, for a session whose events name none. */
    private final String modelAskedFor;

    RealtimeUsageTap() {
        this(null);
    }

    RealtimeUsageTap(String modelAskedFor) {
        this.modelAskedFor = modelAskedFor;
    }

    /** Looks at the readable bytes; indices and reference count are left as they are. */
    void onBytes(ByteBuf buf) {
        int i = buf.readerIndex();
        int end = buf.writerIndex();
        while (i < end && !lost) {
            if (payloadLeft == 0 && !inPayload) {
                i = readHeader(buf, i, end);
                continue;
            }
            int n = (int) Math.min(payloadLeft, end - i);
            if (frameIsData && inTextMessage && !compressed) {
                onPayload(buf, i, n);
            }
            payloadOffset += n;
            payloadLeft -= n;
            i += n;
            if (payloadLeft == 0) {
                endFrame();
            }
        }
    }

    private int readHeader(ByteBuf buf, int i, int end) {
        while (i < end) {
            header[headerRead++] = buf.getByte(i++);
            int needed = headerLength();
            if (needed > 0 && headerRead == needed) {
                startFrame();
                return i;
            }
        }
        return i;
    }

    /** Total header length once known from what has been read, else 0. */
    private int headerLength() {
        if (headerRead < 2) {
            return 0;
        }
        int len7 = header[1] & 0x7f;
        int base = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0);
        return base + ((header[1] & 0x80) != 0 ? 4 : 0);
    }

    private void startFrame() {
        int opcode = header[0] & 0x0f;
        frameFin = (header[0] & 0x80) != 0;
        int len7 = header[1] & 0x7f;
        int at = 2;
        long length;
        if (len7 == 126) {
            length = ((header[2] & 0xff) << 8) | (header[3] & 0xff);
            at = 4;
        } else if (len7 == 127) {
            length = 0;
            for (int k = 0; k < 8; k++) {
                length = (length << 8) | (header[2 + k] & 0xff);
            }
            if (length < 0) {
                lost = true;
                return;
            }
            at = 10;
        } else {
            length = len7;
        }
        masked = (header[1] & 0x80) != 0;
        if (masked) {
            System.arraycopy(header, at, mask, 0, 4);
        }
        frameIsData = opcode <= 2;
        if (opcode == 1) {
            inTextMessage = true;
            compressed = (header[0] & 0x40) != 0;
            prefixLen = 0;
            decided = false;
            extractor = null;
        } else if (opcode == 2) {
            inTextMessage = false;
        }
        headerRead = 0;
        payloadOffset = 0;
        payloadLeft = length;
        inPayload = length > 0;
        if (length == 0) {
            endFrame();
        }
    }

    private void onPayload(ByteBuf buf, int index, int n) {
        ByteBuf slice = buf.slice(index, n);
        if (masked) {
            byte[] copy = new byte[n];
            slice.getBytes(0, copy);
            for (int k = 0; k < n; k++) {
                copy[k] ^= mask[(int) ((payloadOffset + k) & 3)];
            }
            slice = Unpooled.wrappedBuffer(copy);
        }
        if (!decided) {
            int take = Math.min(n, PREFIX - prefixLen);
            slice.getBytes(slice.readerIndex(), prefix, prefixLen, take);
            prefixLen += take;
            if (contains(prefix, prefixLen, MARKER)) {
                decided = true;
                extractor = UsageExtractor.forContentType("application/json");
                extractor.onContent(Unpooled.wrappedBuffer(prefix, 0, prefixLen));
                if (take < n) {
                    extractor.onContent(slice.slice(slice.readerIndex() + take, n - take));
                }
                return;
            }
            if (prefixLen == PREFIX) {
                decided = true;
            }
            return;
        }
        if (extractor != null) {
            extractor.onContent(slice);
        }
    }

    private void endFrame() {
        inPayload = false;
        if (frameIsData && frameFin && inTextMessage) {
            if (extractor != null) {
                TokenUsage u = extractor.result();
                if (u.model() != null) {
                    model = u.model();
                }
                if (u.inputTokens() != null || u.outputTokens() != null) {
                    reported = true;
                    inputTokens += u.inputTokens() == null ? 0 : u.inputTokens();
                    outputTokens += u.outputTokens() == null ? 0 : u.outputTokens();
                }
            }
            extractor = null;
            inTextMessage = false;
        }
    }

    /** The session's usage so far: summed over its response.done events. */
    TokenUsage result() {
        String m = model != null ? model : modelAskedFor;
        return reported ? new TokenUsage(m, inputTokens, outputTokens) : new TokenUsage(m, null, null);
    }

    /**
     * The model the session's URL names ({@code /v1/realtime?model=gpt-realtime}), or null: what
     * the session is priced by, as OpenAI's {@code response.done} carries no model (it is in
     * {@code session.created}, which the tap does not read). Only a plain model name is taken,
     * and at most {@link #MAX_MODEL_CHARS} of it.
     */
    static String modelAskedFor(String rawQuery) {
        String m = rawQuery == null ? null : QueryString.first(rawQuery, "model");
        return m != null && MODEL_NAME.matcher(m).matches() ? m : null;
    }

    private static boolean contains(byte[] hay, int len, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= len; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }
}
