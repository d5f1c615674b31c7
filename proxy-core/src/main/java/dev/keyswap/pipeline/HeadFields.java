package dev.keyswap.pipeline;

import dev.keyswap.bytes.ByteScan;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The field lines of an HTTP/1.1 head where they lie in its bytes (RFC 9112 section 5), for the
 * request heads {@link RequestReader} reads from clients and the response heads
 * {@link UpstreamResponseReader} reads from upstreams: one parser of field lines, one reading of
 * the Connection field, one way of marking a field dropped.
 *
 * <p>Strict where a lenient reading could make two parties disagree (RFC 9112 section 5.1, 5.2):
 * an obs-folded line, a name that is not a token or has space before its colon, a control
 * character in a value are all refused. A bare LF ends a line as CRLF does (section 2.2): the
 * request reader refuses one before a request head gets here, so only upstreams' responses
 * are read with that leniency.
 */
abstract class HeadFields {
    /** Field kinds both readers act on; each subclass numbers its own from {@link #FIRST_OWN_KIND}. */
    static final int OTHER = 0;
    static final int CONTENT_LENGTH = 1;
    static final int TRANSFER_ENCODING = 2;
    static final int CONNECTION = 3;
    static final int FIRST_OWN_KIND = 4;

    private static final byte[] CLOSE = ascii("close");
    static final byte[] CHUNKED = ascii("chunked");
    static final byte[] KEEP_ALIVE = ascii("keep-alive");

    /** The names this head's reader acts on, each with its kind. */
    private final FieldNames names;

    byte[] bytes;
    /** The head's length in {@link #bytes}, its final empty line included. */
    int length;
    int fields;
    int[] nameFrom = new int[32];
    int[] nameTo = new int[32];
    int[] valueFrom = new int[32];
    int[] valueTo = new int[32];
    int[] kind = new int[32];
    boolean[] dropped = new boolean[32];
    boolean connectionClose;
    boolean connectionKeepAlive;
    /** Connection names a field other than close and keep-alive (to be dropped too). */
    boolean connectionNominates;

    HeadFields(FieldNames names) {
        this.names = names;
    }

    /**
     * The names a reader acts on, found by length first: a name of any other length is ruled out
     * by one array index, and one of the same length by its first differing byte.
     */
    static final class FieldNames {
        /** Lower-case names by their length, and the kind of each. */
        private final byte[][][] byLength;
        private final int[][] kinds;

        /** @param namesAndKinds lower-case names with their kinds; a name may appear in one map only */
        @SafeVarargs
        FieldNames(Map<String, Integer>... namesAndKinds) {
            Map<String, Integer> all = new HashMap<>();
            for (Map<String, Integer> m : namesAndKinds) {
                m.forEach((name, k) -> {
                    // HeaderBytes.spells folds the case of what it reads, not of the word.
                    if (all.put(name, k) != null || !name.equals(name.toLowerCase(Locale.ROOT))) {
                        throw new IllegalArgumentException(name + " is named twice or not in lower case");
                    }
                });
            }
            int longest = all.keySet().stream().mapToInt(String::length).max().orElse(0);
            byLength = new byte[longest + 1][0][];
            kinds = new int[longest + 1][0];
            all.forEach((name, k) -> {
                int n = name.length();
                byLength[n] = Arrays.copyOf(byLength[n], byLength[n].length + 1);
                byLength[n][byLength[n].length - 1] = ascii(name);
                kinds[n] = Arrays.copyOf(kinds[n], kinds[n].length + 1);
                kinds[n][kinds[n].length - 1] = k;
            });
        }

        /** The kind of the name {@code b[from, to)}, ignoring ASCII case; {@link #OTHER} for a name not listed. */
        int kindOf(byte[] b, int from, int to) {
            int n = to - from;
            if (n >= byLength.length) {
                return OTHER;
            }
            byte[][] candidates = byLength[n];
            for (int i = 0; i < candidates.length; i++) {
                if (HeaderBytes.spells(b, from, to, candidates[i])) {
                    return kinds[n][i];
                }
            }
            return OTHER;
        }
    }

    /**
     * The framing fields and the hop-by-hop ones (RFC 9110 section 7.6.1), which both readers act
     * on; the hop-by-hop ones besides Connection and Transfer-Encoding as {@code hopByHopKind}.
     */
    static Map<String, Integer> framingAndHopByHop(int hopByHopKind) {
        return Map.of("content-length", CONTENT_LENGTH, "transfer-encoding", TRANSFER_ENCODING, "connection", CONNECTION,
                "keep-alive", hopByHopKind, "proxy-authenticate", hopByHopKind, "proxy-authorization", hopByHopKind,
                "proxy-connection", hopByHopKind, "te", hopByHopKind, "trailer", hopByHopKind, "upgrade", hopByHopKind);
    }

    static byte[] ascii(String word) {
        return word.getBytes(StandardCharsets.US_ASCII);
    }

    void clearFields() {
        length = 0;
        fields = 0;
        connectionClose = false;
        connectionKeepAlive = false;
        connectionNominates = false;
    }

    /** Takes in field {@code i} (its kind and positions set); returns what is wrong with it, or null. */
    abstract String onField(int i);

    /**
     * Reads the field lines of {@code bytes[p, length)} up to the empty line that ends the head;
     * returns what is wrong with them, or null.
     */
    final String parseFields(int p) {
        byte[] b = bytes;
        while (true) {
            if (b[p] == '\n' || (b[p] == '\r' && b[p + 1] == '\n')) {
                return null;
            }
            if (HeaderBytes.space(b[p])) {
                return "a header field is folded over lines (obs-fold)";
            }
            int nameFrom = p;
            // The colon found eight bytes at a time, then every byte before it checked without a
            // branch per byte: a line end or space before the colon fails the check as well.
            p = ByteScan.indexOf(b, p, length, (byte) ':');
            if (p == nameFrom || p == length || !HeaderBytes.allToken(b, nameFrom, p)) {
                return "a header field's name is malformed";
            }
            int nameTo = p++;
            while (HeaderBytes.space(b[p])) {
                p++;
            }
            int valueFrom = p;
            p = ByteScan.fieldValueEnd(b, p, length);
            int valueTo = p;
            while (valueTo > valueFrom && HeaderBytes.space(b[valueTo - 1])) {
                valueTo--;
            }
            p = lineEnd(b, p);
            if (p < 0) {
                return "a header field's value has a control character";
            }
            grow();
            int i = fields++;
            this.nameFrom[i] = nameFrom;
            this.nameTo[i] = nameTo;
            this.valueFrom[i] = valueFrom;
            this.valueTo[i] = valueTo;
            this.kind[i] = names.kindOf(b, nameFrom, nameTo);
            this.dropped[i] = false;
            String problem = onField(i);
            if (problem != null) {
                return problem;
            }
        }
    }

    /** The index after the line end at {@code p} (CRLF, or a bare LF), or -1 if another byte is there. */
    static int lineEnd(byte[] b, int p) {
        if (b[p] == '\n') {
            return p + 1;
        }
        return b[p] == '\r' && b[p + 1] == '\n' ? p + 2 : -1;
    }

    /** Room for one more field. */
    private void grow() {
        if (fields == kind.length) {
            int n = fields * 2;
            nameFrom = Arrays.copyOf(nameFrom, n);
            nameTo = Arrays.copyOf(nameTo, n);
            valueFrom = Arrays.copyOf(valueFrom, n);
            valueTo = Arrays.copyOf(valueTo, n);
            kind = Arrays.copyOf(kind, n);
            dropped = Arrays.copyOf(dropped, n);
        }
    }

    String value(int field) {
        return field < 0 ? null : new String(bytes, valueFrom[field], valueTo[field] - valueFrom[field], StandardCharsets.ISO_8859_1);
    }

    String name(int field) {
        return new String(bytes, nameFrom[field], nameTo[field] - nameFrom[field], StandardCharsets.ISO_8859_1);
    }

    /** Whether field {@code i} is named {@code lowerCaseName}, ignoring ASCII case. */
    final boolean named(int i, AsciiString lowerCaseName) {
        return HeaderBytes.sameIgnoringCase(bytes, nameFrom[i], nameTo[i], lowerCaseName.array(), lowerCaseName.arrayOffset(),
                lowerCaseName.arrayOffset() + lowerCaseName.length());
    }

    /** Marks every field of this name dropped. */
    void drop(AsciiString name) {
        drop(name.array(), name.arrayOffset(), name.arrayOffset() + name.length(), false);
    }

    /**
     * Marks every field named {@code name[from, to)} dropped, ignoring ASCII case; with {@code
     * keepFraming}, Content-Length and Transfer-Encoding stay.
     */
    private void drop(byte[] name, int from, int to, boolean keepFraming) {
        for (int i = 0; i < fields; i++) {
            if (!dropped[i] && !(keepFraming && (kind[i] == CONTENT_LENGTH || kind[i] == TRANSFER_ENCODING))
                    && HeaderBytes.sameIgnoringCase(bytes, nameFrom[i], nameTo[i], name, from, to)) {
                dropped[i] = true;
            }
        }
    }

    /**
     * Reads a Connection field's options (RFC 9110 section 7.6.1): close, keep-alive, or the name
     * of a field meant for this hop only, dropped when {@code dropNamed} (once every field is read).
     * The framing fields are never dropped so: the message was read by them, and the next hop
     * must read it by the same ones. Dropping a nominated Content-Length sent its body on as a
     * message of its own (request smuggling onto a pooled upstream connection), and a response's
     * on as one the client could only read to the connection's close.
     */
    final void connectionOptions(int field, boolean dropNamed) {
        byte[] b = bytes;
        int p = valueFrom[field];
        int to = valueTo[field];
        while (p < to) {
            int comma = p;
            while (comma < to && b[comma] != ',') {
                comma++;
            }
            int s = p;
            int e = comma;
            while (s < e && HeaderBytes.space(b[s])) {
                s++;
            }
            while (e > s && HeaderBytes.space(b[e - 1])) {
                e--;
            }
            if (HeaderBytes.spells(b, s, e, CLOSE)) {
                connectionClose = true;
            } else if (HeaderBytes.spells(b, s, e, KEEP_ALIVE)) {
                connectionKeepAlive = true;
            } else if (e > s) {
                connectionNominates = true;
                if (dropNamed) {
                    drop(b, s, e, true);
                }
            }
            p = comma + 1;
        }
    }

    /** Drops the fields the Connection fields name. */
    final void dropNominated() {
        for (int c = 0; c < fields; c++) {
            if (kind[c] == CONNECTION) {
                connectionOptions(c, true);
            }
        }
    }

    static boolean digit(byte c) {
        return c >= '0' && c <= '9';
    }

    /** A decimal Content-Length value, or -1 when it is not one (RFC 9110 section 8.6). */
    static long decimal(byte[] b, int from, int to) {
        if (from == to || to - from > 18) {
            return -1;
        }
        long n = 0;
        for (int i = from; i < to; i++) {
            if (!digit(b[i])) {
                return -1;
            }
            n = n * 10 + (b[i] - '0');
        }
        return n;
    }
}
